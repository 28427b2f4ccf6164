"""In a real browser: a change approval signed in the signing dialog and found in the auditor's
trail; a BPMN edited in the modeler, validated, deployed with a signature and compared."""
from __future__ import annotations

from tests.browser.conftest import TABLET, shot
from tests.web.conftest import PASSWORD, deploy_test_process, make_persona, start_change


def sign_in(page, persona):
    page.goto(page.base + "/login")
    page.fill("#username", persona.username)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def sign_out(page):
    page.click("header button:has-text('Sign out')")
    page.wait_for_url("**/login")


def test_approve_a_change_with_a_signature_and_find_it_in_the_trail(page, fresh_db):
    deploy_test_process(fresh_db)
    pe, qa = make_persona(fresh_db, "pe"), make_persona(fresh_db, "qa")
    auditor = make_persona(fresh_db, "auditor")
    titles = ["Raise screw torque to 2.2 Nm", "New tubing supplier", "Leak test pressure +5 kPa",
              "Update SOP-014 to rev D", "Replace sealing die"]
    for i, title in enumerate(titles, start=12):
        start_change(fresh_db, pe, title=title, key=f"CC-2026-{i:04d}")
    sign_in(page, qa)
    page.wait_for_url("**/inbox/")
    assert page.locator("#inbox tbody tr").count() == len(titles)
    shot(page, "inbox", readme=True)
    page.set_viewport_size(TABLET)
    shot(page, "inbox-tablet")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.set_viewport_size({"width": 1366, "height": 900})

    page.click("#inbox tr:has-text('CC-2026-0012') a")
    page.wait_for_selector("#task-form")
    assert "routing RT-100" in page.inner_text("#task-context")
    page.select_option("#f-qa_decision", "approve")
    page.fill("#f-qa_comment", "Impact reviewed; validation not required.")
    page.click("button[data-open-sign=sign-task]")
    dialog = page.locator("dialog#sign-task")
    dialog.wait_for(state="visible")
    manifest = dialog.locator("[data-manifest]").inner_text()
    assert "Quinn QA" in manifest and "Approved" in manifest and "UTC" in manifest
    shot(page, "signing-dialog")
    dialog.locator("input[name=password]").fill(PASSWORD)
    dialog.locator("input[name=totp_code]").fill(qa.code())
    dialog.locator("button[name=sign]").click()
    page.wait_for_selector(".flash-success")
    assert "Signed and completed" in page.inner_text(".flash-success")
    assert page.locator("#inbox tbody tr").count() == len(titles) - 1
    # the process page: the diagram (bpmn-js viewer) with the path taken highlighted
    page.goto(page.base + "/processes/?q=CC-2026-0012")
    page.click("#instances tbody a")
    page.wait_for_selector("#instance-diagram[data-loaded=true]")
    assert page.locator("g[data-element-id=approve_change_qa].st-done").count() == 1
    assert page.locator("g[data-element-id=f2].st-done").count() == 1
    assert "Signed by Quinn QA" in page.inner_text(".history")
    shot(page, "process-instance")
    sign_out(page)

    sign_in(page, auditor)
    page.goto(page.base + "/audit/?action=workflow.task_completed")
    row = page.locator("#audit-entries tbody tr").first
    assert "Quinn QA" in row.inner_text() and "workflow.task_completed" in row.inner_text()
    row.locator("a").first.click()
    page.wait_for_selector("text=Electronic signature")
    body = page.inner_text("main")
    assert "Quinn QA" in body and "Approved" in body and "approve" in body
    shot(page, "audit-entry")
    page.goto(page.base + "/audit/signatures?meaning=approved")
    assert "Quinn QA" in page.inner_text("#signature-register")
    shot(page, "signature-register")
    assert page.console_errors == []


def test_edit_validate_deploy_and_compare_a_bpmn(page, fresh_db):
    deploy_test_process(fresh_db)
    pe = make_persona(fresh_db, "pe")
    sign_in(page, pe)
    page.goto(page.base + "/editor/")
    page.click("#processes a:has-text('Open')")
    page.wait_for_selector("#modeler[data-loaded=true]")
    # rename a task by direct editing on the canvas
    page.dblclick("g[data-element-id=build_context]")
    editor = page.locator(".djs-direct-editing-parent")
    editor.wait_for(state="visible")
    page.keyboard.press("Control+A")
    page.keyboard.type("Collect impact and risks")
    page.click("#modeler", position={"x": 40, "y": 400})
    page.click("#btn-validate")
    page.wait_for_selector("#editor-status.alert-ok")
    shot(page, "editor")
    page.fill("#comment", "Rename the impact step")
    page.click("button[data-open-sign=sign-deploy]")
    dialog = page.locator("dialog#sign-deploy")
    dialog.wait_for(state="visible")
    dialog.locator("input[name=password]").fill(PASSWORD)
    dialog.locator("input[name=totp_code]").fill(pe.code())
    dialog.locator("button[name=sign]").click()
    page.wait_for_selector(".flash-success")
    assert "version 2" in page.inner_text(".flash-success")
    page.click("#compare-form button[type=submit]")
    page.wait_for_selector("#changes")
    assert "build_context" in page.inner_text("#changes")
    page.wait_for_selector(".diagram[data-loaded=true] >> nth=1")
    assert page.locator("g[data-element-id=build_context].st-changed").count() >= 1
    shot(page, "bpmn-diff")
    assert page.console_errors == []
