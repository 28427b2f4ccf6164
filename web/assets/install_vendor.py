"""Copy the built front-end packages from web/assets/node_modules into web/static/vendor.

Run by ``make env`` after ``npm ci``; the copied files are served as static files and are
never committed (web/static/vendor is ignored by git). The editor's modeler (bpmn-js with the
properties panel and Sealtrail's panel groups, ``src/``) is bundled here by esbuild from npm.
"""
from __future__ import annotations

import shutil
import subprocess
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
    ("@bpmn-io/properties-panel", "dist/assets/properties-panel.css"),
    ("@bpmn-io/properties-panel", "LICENSE"),
    ("bpmn-js-properties-panel", "LICENSE"),
    # dmn-js: the decision-table editor (web/decision_editor.py) and its viewer.
    ("dmn-js", "dist/dmn-modeler.production.min.js"),
    ("dmn-js", "dist/assets/diagram-js.css"),
    ("dmn-js", "dist/assets/dmn-js-shared.css"),
    ("dmn-js", "dist/assets/dmn-js-drd.css"),
    ("dmn-js", "dist/assets/dmn-js-decision-table.css"),
    ("dmn-js", "dist/assets/dmn-js-decision-table-controls.css"),
    ("dmn-js", "dist/assets/dmn-js-literal-expression.css"),
    ("dmn-js", "dist/assets/dmn-font/css/dmn.css"),
    ("dmn-js", "dist/assets/dmn-font/font"),
    ("dmn-js", "LICENSE"),
]

# The editor bundle: src/editor-bundle.js and what it imports, one minified script exposing
# ``window.SealtrailModeler.create(container, panel, config)``.
EDITOR_ENTRY = HERE / "src" / "editor-bundle.js"
EDITOR_OUT = VENDOR / "sealtrail-editor" / "editor.js"


def build_editor() -> int:
    """Bundle the editor (JSX in ``*.jsx`` with preact from the properties panel)."""
    esbuild = HERE / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        print("esbuild missing (run npm ci in web/assets)", file=sys.stderr)
        return 1
    return subprocess.call([str(esbuild), str(EDITOR_ENTRY), "--bundle", "--minify", "--format=iife",
                            "--global-name=SealtrailModeler", "--jsx=automatic",
                            "--jsx-import-source=@bpmn-io/properties-panel/preact", "--log-level=warning",
                            "--legal-comments=linked", f"--outfile={EDITOR_OUT}"], cwd=HERE)


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
    return build_editor()


if __name__ == "__main__":
    sys.exit(main())
