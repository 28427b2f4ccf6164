"""Copy the built front-end packages from web/assets/node_modules into web/static/vendor."""
from __future__ import annotations

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENDOR = HERE.parent / "static" / "vendor"

# (package, file inside the package) pairs served to browsers.
FILES: list[tuple[str, str]] = []


def main() -> None:
    VENDOR.mkdir(parents=True, exist_ok=True)
    for package, rel in FILES:
        src = HERE / "node_modules" / package / rel
        dst = VENDOR / package / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


if __name__ == "__main__":
    main()
