"""The process owner's workbench (#14) in a real browser: a new approval step added to the shipped
change-control process with its own form, role (lane) and signature meaning through the
properties panel, validated, deployed with a signature, and a new change request then waiting at
that step in the inbox of the step's role; a script refused by the policy at its line, an
unreachable task named by Validate, a timer read as words."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from playwright.sync_api import expect

from audit import SYSTEM
from audit.policy import SigningPolicy
from engine.users import get_user
from engine.workflows import deploy_all_shipped, open_tasks
from engine.workflows.instances import actor_of, start_instance
from engine.workflows.models import ProcessVersion
from engine.workflows.tasks import complete_task
from tests.browser.conftest import SCREENSHOTS, shot
from tests.browser.test_browser_flows import sign_in, sign_out
from tests.web.conftest import PASSWORD, deploy_test_process, make_persona

NEW_STEP_EN, NEW_STEP_ZH = "Pre-screen change request", "变更申请预审"
FACTS = {"identity_change": False, "registered_materials_change": False,
         "registered_critical_parameter_change": False, "registered_process_change_class": "none"}
SUBMISSION = {"change_title": "Tighter press force window", "change_description": "press_force 95-105 N",
              "change_reason": "field returns", "change_urgency": "routine",
              "changed_revisions": [{"kind": "routing", "code": "RT-PUMP", "label": "B"}],
              "changed_objects": [], "effective_from": "2026-03-02", "change_action": "submit",
              "change_comment": ""}


def doc_shot(page, name: str, *, scroll_to: str | None = None) -> None:
    """A viewport screenshot (var/screenshots/, and docs/screenshots/ when
    SEALTRAIL_UPDATE_README_SCREENSHOTS=1, as the README's inbox picture)."""
    if scroll_to:
        page.locator(scroll_to).scroll_into_view_if_needed()
        page.evaluate("(sel) => document.querySelector(sel).scrollIntoView({block: 'start'})", scroll_to)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    if os.environ.get("SEALTRAIL_UPDATE_README_SCREENSHOTS") == "1":
        shutil.copyfile(path, Path("docs/screenshots") / f"{name}.png")
    page.evaluate("window.scrollTo(0, 0)")


def _entry(page, entry_id, tag="input"):
    return page.locator(f"#properties [data-entry-id={entry_id}] {tag}")


def _open_editor(page, process_id):
    page.goto(page.base + f"/editor/{process_id}")
    page.wait_for_selector("#modeler[data-loaded=true]")


def _insert_task_on_flow(page, flow_id):
    """Palette "Create task", dropped onto a sequence flow: bpmn-js splits the flow around it."""
    page.evaluate("""(id) => { const m = window.sealtrailModeler, el = m.get('elementRegistry').get(id);
        const w = el.waypoints, c = m.get('canvas'), outer = c.viewbox().outer;
        c.viewbox({x: (w[0].x + w[1].x) / 2 - outer.width / 2, y: w[0].y - outer.height / 3,
                   width: outer.width, height: outer.height}); }""", flow_id)
    box = page.locator(f"g[data-element-id={flow_id}]").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.click(".djs-palette .entry.bpmn-icon-task")
    page.mouse.move(x - 40, y - 40, steps=4)
    page.mouse.move(x, y, steps=8)
    page.mouse.click(x, y)
    return page.evaluate("() => window.sealtrailModeler.get('selection').get()[0].id")


def _build_prescreen_form(page):
    """The step's own form, built in the form builder: a decision with translated choices and a
    reason required (and shown) only when the request is returned."""
    page.goto(page.base + "/editor/forms/")
    page.fill("#new-name", "prescreen_change")
    page.click("#new-form button[type=submit]")
    page.wait_for_selector("#builder")
    page.fill("#b-title-en", "Pre-screen")
    page.fill("#b-title-zh", "预审")
    page.click("#b-add")
    page.fill("#b-key-0", "prescreen_decision")
    page.press("#b-key-0", "Tab")
    page.select_option("#b-type-0", "choice")
    page.fill("#b-title-en-0", "Decision")
    page.fill("#b-title-zh-0", "决定")
    page.check("#b-required-0")
    page.fill("#b-choices-0", "proceed | Proceed | 继续\nreturn | Return to requester | 退回申请人")
    page.click("#b-add")
    page.fill("#b-key-1", "prescreen_reason")
    page.press("#b-key-1", "Tab")
    page.select_option("#b-type-1", "long_text")
    page.fill("#b-title-en-1", "Why it goes back")
    page.fill("#b-title-zh-1", "退回原因")
    page.check("#b-required-1")
    page.select_option("#b-when-1", "prescreen_decision")
    page.fill("#b-when-value-1", "return")
    # the live preview, in both languages, as the task page renders it
    expect(page.locator("#preview-zh")).to_contain_text("退回申请人")
    expect(page.locator("#preview-zh")).to_contain_text("退回原因")
    assert "Return to requester" in page.inner_text("#preview-en")
    reason = page.locator("#preview-en [data-show-when-field=prescreen_decision]")
    assert reason.is_hidden()
    page.select_option("#preview-en #f-prescreen_decision", "return")
    assert reason.is_visible()
    schema = json.loads(page.input_value("#b-json"))
    assert list(schema["properties"]) == ["prescreen_decision", "prescreen_reason"]
    assert schema["required"] == ["prescreen_decision"]
    assert schema["allOf"][0]["then"] == {"required": ["prescreen_reason"]}
    doc_shot(page, "workbench-form-builder", scroll_to="#builder")
    page.fill("#comment", "Pre-screen decision for change requests")
    page.click("#save-form button[type=submit]")
    page.wait_for_selector(".flash-success")
    assert "prescreen_change@1" in page.inner_text(".flash-success")


def test_add_an_approval_step_to_change_control_and_a_new_request_waits_there(page, fresh_db):
    with fresh_db.sessions.begin() as s:
        deploy_all_shipped(s, SYSTEM)
    pe, qe = make_persona(fresh_db, "pe"), make_persona(fresh_db, "qe")
    sign_in(page, pe)
    _build_prescreen_form(page)
    _open_editor(page, "change_control")

    # a task dropped on the "submit" flow, turned into a user task with the replace menu
    new_id = _insert_task_on_flow(page, "flow_submit_change_to_gw_submit_or_withdraw")
    page.click(".djs-context-pad .entry[data-action=replace]")
    page.click(".djs-popup [data-id=replace-with-user-task]")
    page.wait_for_selector("#properties [data-entry-id=st-form]")
    # its bilingual name, role (lane), form, meaning and segregation of duties in the panel
    _entry(page, "st-name-en").fill(NEW_STEP_EN)
    page.wait_for_timeout(400)  # the panel's input debounce, as a person would pause
    _entry(page, "st-name-zh").fill(NEW_STEP_ZH)
    page.wait_for_timeout(400)
    _entry(page, "st-role", "select").select_option("qa_engineer")
    _entry(page, "st-form", "select").select_option("prescreen_change.json")
    _entry(page, "st-meaning", "select").select_option("reviewed")
    _entry(page, "st-sod").fill("initiator,submit_change")
    page.wait_for_timeout(400)  # the panel's input debounce
    page.evaluate("""(id) => { document.activeElement.blur();
        document.querySelectorAll('#properties, #properties .bio-properties-panel-scroll-container')
          .forEach(e => { e.scrollTop = 0; });
        const m = window.sealtrailModeler; m.get('canvas').scrollToElement(m.get('elementRegistry').get(id)); }""",
                  new_id)
    doc_shot(page, "workbench-panel")
    model = page.evaluate("""(id) => { const m = window.sealtrailModeler, r = m.get('elementRegistry');
        const el = r.get(id), bo = el.businessObject;
        const lane = r.filter(e => e.type === 'bpmn:Lane').find(l => (l.businessObject.flowNodeRef || []).includes(bo));
        return {type: bo.$type, name: bo.name, lane: lane && lane.businessObject.name,
                incoming: bo.incoming.map(f => f.sourceRef.id), outgoing: bo.outgoing.map(f => f.targetRef.id)}; }""",
                          new_id)
    assert model == {"type": "bpmn:UserTask", "name": f"{NEW_STEP_EN} / {NEW_STEP_ZH}", "lane": "qa_engineer",
                     "incoming": ["submit_change"], "outgoing": ["gw_submit_or_withdraw"]}

    page.click("#btn-validate")
    page.wait_for_selector("#editor-status.alert-ok")

    # simulate both branches of the submit-or-withdraw gateway (on a simulated clock); the new step
    # is on both paths
    page.fill("#sim-now", "2026-03-01T08:00:00")
    status, path = _simulate(page, {"submit_change": {"change_action": "withdraw"}})
    assert status == "completed" and path == ["change_start", "submit_change", new_id, "gw_submit_or_withdraw",
                                              "withdraw_change", "change_withdrawn"]
    assert page.locator(f"#sim-path li[data-element-id={new_id}] .badge").inner_text() == "qa_engineer"
    status, path = _simulate(page, {"analyse_change_impact": {"id": 1, "flags": {"regulatory_facts": FACTS}},
                                    "schedule_change_release": {"release_at": "2026-03-02T00:00:00+00:00"}})
    assert status == "completed", page.inner_text("#sim-status")
    assert path[:5] == ["change_start", "submit_change", new_id, "gw_submit_or_withdraw", "analyse_change_impact"]
    assert path[-1] == "change_closed" and "wait_until_effective" in path
    assert "2026-03-02" in page.inner_text("#sim-timers")
    assert page.locator(f"g[data-element-id={new_id}].st-sim-path").count() == 1
    doc_shot(page, "workbench-simulation")
    doc_shot(page, "workbench-simulation-steps", scroll_to="#simulation")

    page.fill("#comment", "QA engineer pre-screens each submitted change request")
    page.click("button[data-open-sign=sign-deploy]")
    dialog = page.locator("dialog#sign-deploy")
    dialog.wait_for(state="visible")
    dialog.locator("input[name=password]").fill(PASSWORD)
    dialog.locator("input[name=totp_code]").fill(pe.code())
    dialog.locator("button[name=sign]").click()
    page.wait_for_selector(".flash-success")
    assert "version 2" in page.inner_text(".flash-success")
    # the version comparison lists the new step and its pinned form, field by field
    page.click("#compare-form button[type=submit]")
    page.wait_for_selector("#changes")
    assert new_id in page.inner_text("#changes")
    forms_changed = page.inner_text("#form-changes")
    assert "prescreen_change@1" in forms_changed and "field prescreen_decision added" in forms_changed
    sign_out(page)

    # a new change request, submitted by the engineer, now waits at the new step for QA engineers
    policy = SigningPolicy.from_settings(fresh_db.settings())
    with fresh_db.sessions.begin() as s:
        user = get_user(s, pe.id)
        instance = start_instance(s, actor_of(user), "change_control", user=user)
        [submit] = open_tasks(s, instance.id)
        complete_task(s, user=user, task_id=submit.id, data=SUBMISSION, password=PASSWORD, totp_code=pe.code(),
                      policy=policy)
        [waiting] = open_tasks(s, instance.id)
        assert (waiting.spec_name, waiting.lane, waiting.form) == (new_id, "qa_engineer", "prescreen_change@1")
        assert s.get(ProcessVersion, instance.process_version_id).version == 2
    sign_in(page, qe)
    page.goto(page.base + "/inbox/")
    row = page.locator("#inbox tbody tr", has_text=NEW_STEP_EN)
    assert row.count() == 1
    row.locator("a").first.click()
    page.wait_for_selector("#task-form")
    assert page.locator("#f-prescreen_decision").count() == 1
    shot(page, "workbench-new-step-task")
    assert page.console_errors == []


def _simulate(page, tasks: dict):
    page.fill("#sim-tasks", json.dumps(tasks))
    page.click("#btn-simulate")
    page.wait_for_selector("#sim-status[data-status]")
    status = page.get_attribute("#sim-status", "data-status")
    path = page.eval_on_selector_all("#sim-path li", "els => els.map(e => e.getAttribute('data-element-id'))")
    page.evaluate("document.getElementById('sim-status').removeAttribute('data-status')")
    return status, path


def test_a_refused_script_shows_at_its_line_and_a_timer_reads_as_words(page, fresh_db):
    with fresh_db.sessions.begin() as s:
        deploy_all_shipped(s, SYSTEM)
    deploy_test_process(fresh_db)
    sign_in(page, make_persona(fresh_db, "pe"))
    _open_editor(page, "web_change")
    page.click("g[data-element-id=build_context]")
    script = _entry(page, "st-script", "textarea")
    script.fill('change = {"title": change_title}\nsecret = ().__class__.__base__\n')
    refusal = page.locator("#properties .st-script-refusal")
    refusal.wait_for()
    assert refusal.get_attribute("data-line") == "2" and "__class__" in refusal.inner_text()
    assert "secret = ().__class__.__base__" in refusal.locator(".st-script-line").inner_text()
    script.fill('change = {"title": change_title}\n')
    page.locator("#properties .st-script-ok").wait_for()
    assert page.locator("#properties .st-script-refusal").count() == 0

    # a task dropped where no flow reaches it: Validate names it as unreachable, highlighted
    box = page.locator("g[data-element-id=approve_change_qa]").bounding_box()
    page.click(".djs-palette .entry.bpmn-icon-task")
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] + 90
    page.mouse.move(x - 30, y - 30, steps=4)
    page.mouse.move(x, y, steps=6)
    page.mouse.click(x, y)
    orphan = page.evaluate("() => window.sealtrailModeler.get('selection').get()[0].id")
    page.click("#btn-validate")
    page.wait_for_selector("#editor-status.alert-bad")
    problems = page.inner_text("#problems")
    assert orphan in problems and "can never run" in problems
    assert page.locator(f"g[data-element-id={orphan}].st-error").count() == 1

    _open_editor(page, "capa")
    page.evaluate("""() => { const m = window.sealtrailModeler, el = m.get('elementRegistry').get('wait_capa_effectiveness');
        m.get('canvas').scrollToElement(el); m.get('selection').select(el); }""")
    preview = page.locator("#properties [data-entry-id=st-timer-preview]")
    assert "computed from the process data" in preview.inner_text()
    page.select_option("#properties [data-entry-id=timerEventDefinitionType] select", "timeCycle")
    _entry(page, "timerEventDefinitionValue").fill("R/P30D")
    expect(preview).to_contain_text("every 30 days")
    _entry(page, "timerEventDefinitionValue").fill("R3/PT12H")
    expect(preview).to_contain_text("3 times, every 12 hours")
    assert page.console_errors == []
