"""Copy the built front-end packages from web/assets/node_modules into web/static/vendor.

Run by ``make env`` after ``npm ci``; the copied files are served as static files and are
never committed (web/static/vendor is ignored by git).
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENDOR = HERE.parent / "static" / "vendor"

# (package, file or directory inside the package) served to browsers.
FILES: list[tuple[str, str]] = [
    ("bpmn-js", "dist/bpmn-navigated-viewer.production.min.js"),
    ("bpmn-js", "dist/bpmn-modeler.production.min.js"),
    ("bpmn-js", "dist/assets/diagram-js.css"),
    ("bpmn-js", "dist/assets/bpmn-js.css"),
    ("bpmn-js", "dist/assets/bpmn-font/css/bpmn.css"),
    ("bpmn-js", "dist/assets/bpmn-font/font"),
    ("bpmn-js", "LICENSE"),
]


def main() -> int:
    missing = []
    for package, rel in FILES:
        src = HERE / "node_modules" / package / rel
        dst = VENDOR / package / rel
        if not src.exists():
            missing.append(str(src.relative_to(HERE)))
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copyfile(src, dst)
    if missing:
        print("missing front-end files (run npm ci in web/assets):", *missing, sep="\n  ",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
