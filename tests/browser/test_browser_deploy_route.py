"""A QA manager routes a process's deploys through change control from the Processes page (#14):
the page fits 1366×900 and 1024×768 in English and Chinese, and the choice is saved."""
from __future__ import annotations

from engine.workflows.deploy import via_change_control
from tests.browser.conftest import shot
from tests.browser.test_browser_flows import sign_in
from tests.web.conftest import deploy_test_process, make_persona

SIZES = ({"width": 1366, "height": 900}, {"width": 1024, "height": 768})
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def test_qa_manager_switches_a_process_to_change_control(page, fresh_db):
    deploy_test_process(fresh_db)
    sign_in(page, make_persona(fresh_db, "qa"))
    page.goto(page.base + "/processes/?process=web_change")
    page.click("#deploy-route")
    for lang in ("zh_CN", "en"):
        page.click(f".langswitch button[value={lang}]")
        page.wait_for_load_state()
        for size in SIZES:
            page.set_viewport_size(size)
            assert page.evaluate(OVERFLOW) <= 1, (lang, size)
            shot(page, f"deploy-route.{lang}.{size['width']}")
        if lang == "zh_CN":
            assert "经变更控制" in page.inner_text("main")
    page.check("input[name=via_change_control][value='1']")
    page.fill("#reason", "SOP-QA-012: process changes are change-controlled")
    page.click("#route-form button[type=submit]")
    page.wait_for_load_state()
    assert "saved" in page.inner_text("body")
    with fresh_db.sessions() as s:
        assert via_change_control(s, "web_change")
