"""The decision-table editor in a browser: dmn-js edits a cell, the test sheet follows, validate,
try, signed deploy, compare; at the laptop and the small-laptop size."""
from __future__ import annotations

from tests.browser.conftest import shot
from tests.web.conftest import PASSWORD, make_persona
from tests.web.test_web_decision_editor import _deploy_risk

INFERNO_NOTICE = "It looks like you're using a minified copy of the development build of Inferno."


def sign_in(page, persona):
    page.goto(page.base + "/login")
    page.fill("#username", persona.username)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def test_edit_a_rule_and_its_example_then_deploy_signed(page, fresh_db):
    _deploy_risk(fresh_db)
    pe = make_persona(fresh_db, "pe")
    sign_in(page, pe)
    page.goto(page.base + "/editor/decisions/")
    page.click("#decisions a:has-text('Open')")
    page.wait_for_selector("#dmn-modeler[data-loaded=true]")
    page.wait_for_selector("#dmn-modeler .tjs-table")
    assert page.locator("#test-sheet tbody tr").count() == 2
    # the output cell of r_high: "high" → "medium" (dmn-js cells are content-editable)
    cell = page.locator('#dmn-modeler td[data-element-id="r_high_3"] [contenteditable]')
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type('"medium"')
    page.click("#dmn-modeler", position={"x": 5, "y": 5})
    page.click("#btn-validate")
    page.wait_for_selector("#editor-status.alert-bad")  # test_high still expects "high"
    assert "test test_high: expected level = 'high'" in page.inner_text("#problems")
    page.locator("#test-sheet tbody tr >> nth=1").locator("[data-k=expect]").fill(
        '{"level": "medium", "escalate": true}')
    page.fill("#try-given", '{"score": 9, "category": "label"}')
    page.click("#btn-try")
    page.wait_for_selector("#try-result code[data-rule]")
    assert page.inner_text("#try-result code[data-rule]") == "r_high"
    page.click("#btn-keep-try")
    assert page.locator("#test-sheet tbody tr").count() == 3
    page.click("#btn-validate")
    page.wait_for_selector("#editor-status.alert-ok")
    assert "3" in page.inner_text("#editor-status")
    shot(page, "decision-editor")
    page.set_viewport_size({"width": 1024, "height": 768})
    shot(page, "decision-editor-1024")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    page.set_viewport_size({"width": 1366, "height": 900})
    page.fill("#comment", "High scores are medium now")
    page.click("button[data-open-sign=sign-deploy]")
    dialog = page.locator("dialog#sign-deploy")
    dialog.wait_for(state="visible")
    dialog.locator("input[name=password]").fill(PASSWORD)
    dialog.locator("input[name=totp_code]").fill(pe.code())
    dialog.locator("button[name=sign]").click()
    page.wait_for_selector(".flash-success")
    assert "version 2" in page.inner_text(".flash-success") and "t_risk_process v2" in page.inner_text(".flash-success")
    page.wait_for_selector("#dmn-modeler[data-loaded=true]")
    assert page.locator("#test-sheet tbody tr").count() == 3  # the example travelled with the table
    page.click("#compare-form button[type=submit]")
    page.wait_for_selector("#changes")
    assert "r_high" in page.inner_text("#changes") and "example_1" in page.inner_text("#changes")
    shot(page, "decision-diff")
    page.click("form.langswitch button[lang^=zh]")
    page.wait_for_load_state()
    assert "变更" in page.inner_text("#changes") or "规则" in page.inner_text("#changes")
    page.goto(page.base + "/editor/decisions/t_risk")
    page.wait_for_selector("#dmn-modeler[data-loaded=true]")
    assert "测试表" in page.inner_text("main") and "命中策略" in page.inner_text("#dmn-modeler")
    assert not page.is_visible("#btn-keep-try")  # nothing tried yet
    shot(page, "decision-editor-zh")
    page.set_viewport_size({"width": 1024, "height": 768})
    shot(page, "decision-editor-zh-1024")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    # dmn-js 17's bundle carries Inferno's development build, which says so on load: a vendor notice,
    # not an error of the page (anything else, CSP violations included, still fails the test).
    page.console_errors[:] = [e for e in page.console_errors if not e.startswith(INFERNO_NOTICE)]
    assert page.console_errors == []


def test_qa_managers_reach_the_tables_from_the_navigation(page, fresh_db):
    _deploy_risk(fresh_db)
    sign_in(page, make_persona(fresh_db, "qa"))
    page.set_viewport_size({"width": 1024, "height": 768})
    page.click("nav a:has-text('Decision tables')")
    page.wait_for_selector("#decisions")
    assert "t_risk" in page.inner_text("#decisions")
    assert page.locator("a[href='/editor/']").count() == 0  # the BPMN editor is not theirs
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    shot(page, "decision-tables-qa-1024")
    page.console_errors[:] = [e for e in page.console_errors if not e.startswith(INFERNO_NOTICE)]
    assert page.console_errors == []
