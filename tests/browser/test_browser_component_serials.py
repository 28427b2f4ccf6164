"""Serialised components (#18): the operator's page at the line (a unit with its fitted connector
serials, both forms) and the DHR's component serials per unit fit 1366×900 and 1024×768 in English
and Chinese, on the demo plant."""
from __future__ import annotations

from engine.demo.plant_data import LUER_GTIN
from tests.browser.conftest import LiveServer, shot
from web.app import create_app

import pytest

SIZES = ({"width": 1366, "height": 900}, {"width": 1024, "height": 768})
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
UNIT = "(01)06901234567892(21)IS2609000002"


@pytest.fixture()
def demo_live(demo_db):
    app = create_app({"SESSION_COOKIE_SECURE": False}, settings=demo_db.settings())
    with LiveServer(app) as server:
        yield server
    app.extensions["sealtrail.engine"].dispose()


def test_unit_station_and_dhr_fit_in_both_languages(browser, demo_db, demo_live):
    context = browser.new_context(viewport=SIZES[0], locale="en-US", timezone_id="UTC")
    page = context.new_page()
    errors: list[str] = []
    # the refused fit answers 409 by design; the browser logs that status, not a script error
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "status of 409" not in m.text
            else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(demo_live.url + "/login")
    page.fill("#username", "liu.yang")  # production manager: sees the line and the DHR
    page.fill("#password", demo_db.demo.credentials()["liu.yang"].password)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    page.goto(demo_live.url + "/floor/")
    page.click("#to-unit-station")
    page.fill("#unit", UNIT)
    page.fill("#components", f"(01){LUER_GTIN}(21)HLC2600006")  # the unit's lot is released: refused
    page.click("#fit-form button[type=submit]")
    page.wait_for_load_state()
    assert "lot IS200-2609-001 is released" in page.inner_text("#components-error")
    for size in SIZES:
        page.set_viewport_size(size)
        assert page.evaluate(OVERFLOW) <= 1, ("refused", size)
        shot(page, f"unit-station-refused.{size['width']}")  # in liu.yang's language, zh
    page.goto(demo_live.url + "/floor/units/?unit=" + UNIT.replace("(", "%28").replace(")", "%29"))
    for lang in ("zh_CN", "en"):
        page.click(f".langswitch button[value={lang}]")
        page.wait_for_load_state()
        text = page.inner_text("main")
        assert "HLC2600002" in text
        assert ("将组件装入单件" if lang == "zh_CN" else "Fit components into a unit") in text
        for size in SIZES:
            page.set_viewport_size(size)
            assert page.evaluate(OVERFLOW) <= 1, ("units", lang, size)
            shot(page, f"unit-station.{lang}.{size['width']}")
    page.goto(demo_live.url + "/trace/dhr/IS200-2609-001")
    for lang in ("zh_CN", "en"):
        page.click(f".langswitch button[value={lang}]")
        page.wait_for_load_state()
        assert "HLC2600005" in page.inner_text("#unit-components")
        assert ("每个单件的组件序列号" if lang == "zh_CN" else "Component serials per unit") in page.inner_text(
            "#dhr-serials")
        for size in SIZES:
            page.set_viewport_size(size)
            assert page.evaluate(OVERFLOW) <= 1, ("dhr", lang, size)
            page.locator("#dhr-serials").screenshot(path=str(shot.__globals__["SCREENSHOTS"]
                                                             / f"dhr-unit-components.{lang}.{size['width']}.png"))
    context.close()
    assert errors == [], errors
