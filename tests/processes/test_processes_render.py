"""The shipped diagrams render in bpmn-js (the viewer the web UI serves) without import warnings."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VIEWER = ROOT / "web" / "static" / "vendor" / "bpmn-js" / "dist" / "bpmn-navigated-viewer.production.min.js"
DIAGRAMS = sorted((ROOT / "bpmn").glob("*.bpmn"))

pytestmark = pytest.mark.browser

_IMPORT = """async (xml) => {
    const viewer = new BpmnJS({container: '#canvas'});
    try {
        const {warnings} = await viewer.importXML(xml);
        const all = viewer.get('elementRegistry').getAll();
        const shapes = all.filter(e => e.type !== 'label' && !e.waypoints && e.type !== 'bpmn:Collaboration');
        const outside = shapes.filter(s => s.type !== 'bpmn:Participant' && (s.x < 0 || s.y < 0));
        viewer.destroy();
        return {warnings: warnings.map(w => w.message), shapes: shapes.length,
                edges: all.filter(e => e.waypoints).length, outside: outside.length};
    } catch (err) {
        return {error: err.message, warnings: (err.warnings || []).map(w => w.message)};
    }
}"""


def _render_all(chromium: str) -> dict:
    from playwright.sync_api import sync_playwright

    results = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        page.set_content("<html><body><div id='canvas' style='width:1600px;height:900px'></div></body></html>")
        page.add_script_tag(content=VIEWER.read_text(encoding="utf-8"))
        for path in DIAGRAMS:
            results[path.name] = page.evaluate(_IMPORT, path.read_text(encoding="utf-8"))
        browser.close()
    return results


@pytest.fixture(scope="module")
def rendered():
    if not VIEWER.exists():
        pytest.fail(f"{VIEWER.relative_to(ROOT)} is missing: run `make env` (npm ci + vendor copy)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("chromium is not installed (apt-get install -y chromium)")
    # Playwright's sync API refuses to run in a thread with a running asyncio loop (another test may
    # have left one): render in a thread of our own.
    box: dict = {}

    def work():
        try:
            box["results"] = _render_all(chromium)
        except Exception as exc:  # noqa: BLE001 - re-raised in the test thread
            box["error"] = exc

    thread = threading.Thread(target=work, name="bpmn-render")
    thread.start()
    thread.join(timeout=120)
    if "error" in box:
        raise box["error"]
    return box["results"]


@pytest.mark.parametrize("path", DIAGRAMS, ids=[p.stem for p in DIAGRAMS])
def test_diagram_imports_into_bpmn_js_without_warnings(rendered, path):
    result = rendered[path.name]
    assert "error" not in result, result
    assert result["warnings"] == []
    xml = path.read_text(encoding="utf-8")
    assert result["shapes"] == xml.count("<bpmndi:BPMNShape")
    assert result["edges"] == xml.count("<bpmndi:BPMNEdge")
    assert result["outside"] == 0
