"""In a real browser, on the demo plant: a process engineer changes a parameter limit on a routing
draft and proposes it (the change request waits at risk assessment with that parameter in its
impact list)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from audit import SYSTEM
from engine.workflows import deploy_all_shipped
from tests.browser.conftest import LAPTOP, LiveServer, shot
from tests.web.conftest import PASSWORD, make_persona
from web.app import create_app


@pytest.fixture()
def plant_page(browser, demo_db):
    with demo_db.sessions.begin() as s:
        deploy_all_shipped(s, SYSTEM)
    app = create_app({"SESSION_COOKIE_SECURE": False}, settings=demo_db.settings())
    with LiveServer(app) as server:
        context = browser.new_context(viewport=LAPTOP, locale="en-US", timezone_id="UTC")
        pg = context.new_page()
        pg.set_default_timeout(20_000)
        errors: list[str] = []
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.console_errors = errors
        pg.base = server.url
        yield pg
        context.close()
    app.extensions["sealtrail.engine"].dispose()


def sign_in(page, persona):
    page.goto(page.base + "/login")
    page.fill("#username", persona.username)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def test_change_a_parameter_limit_and_propose_it(plant_page, demo_db):
    page = plant_page
    pe = make_persona(demo_db, "pe")
    sign_in(page, pe)
    page.goto(page.base + "/masterdata/routings/RT-DRIP")
    page.fill("#change_summary", "Narrower UV intensity window")
    page.click("form[action$='/draft'] button[type=submit]")
    page.click("#edit-draft")
    form = page.locator("form[data-parameter='UV intensity']").first
    form.locator("input[name=lsl]").fill("fifty-two")
    form.locator("input[name=reason]").fill("capability study")
    form.locator("button[type=submit]").click()
    assert "Enter a number" in page.locator("form[data-parameter='UV intensity'] .alert-bad").first.inner_text()
    form = page.locator("form[data-parameter='UV intensity']").first
    form.locator("input[name=lsl]").fill("52")
    form.locator("input[name=usl]").fill("68")
    form.locator("input[name=reason]").fill("capability study")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash-success")
    assert "lsl 50.0 → 52.0" in page.inner_text("#draft-diff")
    shot(page, "routing-draft-edit")
    page.click("#propose-link")
    page.fill("#title", "Narrow the UV intensity window")
    page.fill("#reason", "Capability study: Cpk 1.1")
    page.click("#propose button[type=submit]")
    page.wait_for_selector("#task-form")
    assert page.input_value("#f-change_title") == "Narrow the UV intensity window"
    page.click("button[data-open-sign=sign-task]")
    dialog = page.locator("dialog#sign-task")
    dialog.wait_for(state="visible")
    dialog.locator("input[name=password]").fill(PASSWORD)
    dialog.locator("input[name=totp_code]").fill(pe.code())
    dialog.locator("button[name=sign]").click()
    page.wait_for_selector(".flash-success")
    # the risk assessment waits in the process engineer's inbox, the parameter in its impact list
    page.goto(page.base + "/inbox/")
    page.click("#inbox tr:has-text('Review impact and assess risk') a")
    page.wait_for_selector("#task-form")
    context = page.inner_text("#task-context")
    assert "UV intensity" in context and "RT-DRIP" in context
    shot(page, "change-risk-assessment")
    assert not [e for e in page.console_errors if "Content Security Policy" in e], page.console_errors


TABLET_LANDSCAPE = {"width": 1024, "height": 768}


def _started_lot(demo_db, number, *, train=()):
    from sqlalchemy import select

    from engine.db import utcnow
    from engine.masterdata.models import Document, Product
    from engine.masterdata.revisions import effective_revision
    from engine.production import lots
    from engine.users import accounts
    from engine.users.training import record_training

    persona = make_persona(demo_db, "op")
    with demo_db.sessions.begin() as s:
        product = s.scalar(select(Product).where(Product.code == "IS-200"))
        lots.start_lot(s, SYSTEM, lots.plan_lot(s, SYSTEM, lot_number=number, quantity=200, product=product))
        user = accounts.get_user_by_name(s, persona.username)
        for code in train:
            doc = s.scalar(select(Document).where(Document.code == code))
            record_training(s, SYSTEM, user, effective_revision(s, doc), trained_on=utcnow().date())
    return persona


def test_run_an_operation_on_a_tablet_with_one_value_out_of_spec(plant_page, demo_db):
    page = plant_page
    page.set_viewport_size(TABLET_LANDSCAPE)
    operator = _started_lot(demo_db, "IS200-2612-401", train=("SOP-002",))
    sign_in(page, operator)
    page.goto(page.base + "/floor/")
    page.fill("#scan", "(01)06901234567892(10)IS200-2612-401")  # the GS1 label scanned
    page.click("#scan-form button[type=submit]")
    page.wait_for_selector("#op-20")
    page.click("#op-20 button[data-start=UVB]")
    page.wait_for_selector("form[data-parameter='UV intensity']")
    uv = page.locator("form[data-parameter='UV intensity'] input[name=value]")
    uv.fill("74.5")
    assert "out-of-spec" in uv.get_attribute("class")  # red while typing
    assert "outside specification" in page.inner_text("form[data-parameter='UV intensity'] [data-judge-text]")
    shot(page, "station-out-of-spec")
    page.click("form[data-parameter='UV intensity'] button[type=submit]")
    page.wait_for_selector(".flash-error")
    assert page.locator("form[data-parameter='UV intensity'] .badge-bad[data-recorded]").count() == 1
    cure = page.locator("form[data-parameter='Cure time'] input[name=value]")
    cure.fill("8")
    assert "out-of-spec" not in (cure.get_attribute("class") or "")
    page.click("form[data-parameter='Cure time'] button[type=submit]")
    page.wait_for_selector(".flash-success")
    page.fill("#finish input[name=quantity_good]", "200")
    page.click("#finish button[type=submit]")
    page.wait_for_selector("#op-20 .badge-ok")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert not [e for e in page.console_errors if "Content Security Policy" in e], page.console_errors


def test_refused_start_for_an_untrained_operator(plant_page, demo_db):
    page = plant_page
    page.set_viewport_size(TABLET_LANDSCAPE)
    operator = _started_lot(demo_db, "IS200-2612-402")
    sign_in(page, operator)
    page.goto(page.base + "/floor/lots/IS200-2612-402")
    page.click("#op-30 button[data-start=LEAK]")
    page.wait_for_selector("#blocking")
    reasons = page.inner_text("#blocking")
    assert "SOP-001 rev B" in reasons and "SOP-003 rev A" in reasons and "LT-01" in reasons
    assert page.locator("#blocking li[data-code=training]").count() == 2
    shot(page, "station-refused")


def test_failed_calibration_opens_the_deviation(plant_page, demo_db):
    page = plant_page
    engineer = make_persona(demo_db, "pe")
    sign_in(page, engineer)
    page.goto(page.base + "/calibration/UV-01")
    page.select_option("#kind", "calibration")
    page.select_option("#result", "fail")
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).date().isoformat()
    page.fill("#performed_on", yesterday)  # any time of day: yesterday is never in the future
    page.fill("#performed_time", "08:00")
    page.fill("#performed_by", "Metrology lab")
    page.fill("#certificate_ref", "CAL-UV01-F")
    page.fill("#as_found", "41 mW/cm² at set point 60")
    page.click("#equipment-event button[type=submit]")
    page.wait_for_selector("#calibration-deviation")
    table = page.inner_text("#calibration-deviation")
    assert "DEV-" in table and "IS200-2610-003" in table and "DRIP-2610-01" in table
    assert page.locator("#calibration-deviation tr[data-lot='IS200-2610-003'] .badge-bad").count() == 1
    shot(page, "failed-calibration-deviation")


def test_an_operator_reads_and_acknowledges_a_new_sop_revision_on_a_tablet(plant_page, demo_db):
    from sqlalchemy import select

    from engine.masterdata.models import Document
    from engine.masterdata.revisions import effective_revision
    from engine.users import accounts
    from tests.floor.test_floor_sop_training import _make_sop001_rev_c_effective

    page = plant_page
    page.set_viewport_size(TABLET_LANDSCAPE)
    operator = make_persona(demo_db, "op")
    with demo_db.sessions.begin() as s:
        _make_sop001_rev_c_effective(s)
    sign_in(page, operator)
    page.goto(page.base + "/inbox/")
    page.click("#inbox tr:has-text('SOP-001 rev C') a")
    page.wait_for_selector("#task-form")
    assert "Hold 10 s before reading the decay." in page.inner_text("#document-view")
    page.check("input[name=sop_read_and_understood]")
    page.click("button[data-open-sign=sign-task]")
    dialog = page.locator("dialog#sign-task")
    dialog.wait_for(state="visible")
    assert "Acknowledged" in dialog.inner_text()
    dialog.locator("input[name=password]").fill(PASSWORD)
    dialog.locator("input[name=totp_code]").fill(operator.code())
    dialog.locator("button[name=sign]").click()
    page.wait_for_selector(".flash-success")
    shot(page, "sop-acknowledged")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    with demo_db.sessions() as s:
        olly = accounts.get_user_by_name(s, operator.username)
        rev_c = effective_revision(s, s.scalar(select(Document).where(Document.code == "SOP-001")))
        assert [(r.method, r.result) for r in olly.training_records if r.document_revision_id == rev_c.id] == [
            ("read_and_acknowledge", "pass")]
