"""In a real browser, on the demo plant: a process engineer changes a parameter limit on a routing
draft and proposes it (the change request waits at risk assessment with that parameter in its
impact list)."""
from __future__ import annotations

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
    page.click("#inbox tr:has-text('Narrow the UV intensity window') a")
    page.wait_for_selector("#task-form")
    context = page.inner_text("#task-context")
    assert "UV intensity" in context and "RT-DRIP" in context
    shot(page, "change-risk-assessment")
    assert not [e for e in page.console_errors if "Content Security Policy" in e], page.console_errors
