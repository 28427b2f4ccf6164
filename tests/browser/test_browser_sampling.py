"""In a real browser, on the demo plant: the station's inspection form with an ISO 2859-1 plan on
reduced inspection (severity, why, what to draw) at laptop and tablet widths, English and Chinese."""
from __future__ import annotations

from sqlalchemy import select

from audit import SYSTEM
from engine.db import utcnow
from engine.masterdata.models import Document
from engine.masterdata.revisions import effective_revision
from engine.production import floor
from engine.users import accounts
from engine.users.training import record_training
from tests.browser.conftest import shot
from tests.browser.test_browser_floor import plant_page, sign_in  # noqa: F401 (fixture)
from tests.browser.test_browser_sweep import _TEXTS_JS
from tests.catalogue import english_in
from tests.floor.test_floor_sampling_web import LOT, _aql_plant
from tests.web.conftest import make_persona


def test_station_shows_the_reduced_plan_and_why(plant_page, demo_db):
    page = plant_page
    _aql_plant(demo_db)
    op = make_persona(demo_db, "op")
    with demo_db.sessions.begin() as s:
        user = accounts.get_user_by_name(s, op.username)
        doc = s.scalar(select(Document).where(Document.code == "SOP-002"))
        record_training(s, SYSTEM, user, effective_revision(s, doc), trained_on=utcnow().date())
        ex_id = floor.start_operation(s, SYSTEM, LOT, operation="UVB", operator=op.username, equipment="UV-02").id
    sign_in(page, op)
    for lang in ("en", "zh"):
        if lang == "zh":
            page.click("text=中文")
        for width, height in ((1366, 900), (1024, 768)):
            page.set_viewport_size({"width": width, "height": height})
            page.goto(f"{page.base}/floor/executions/{ex_id}")
            plan = page.locator(".sampling-plan[data-severity=reduced]")
            assert plan.is_visible()
            assert ("放宽检验" if lang == "zh" else "Reduced inspection") in plan.inner_text()
            assert page.locator("input[name=sample_size]").last.input_value() == "50"
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            if lang == "zh":
                assert english_in(page.evaluate(_TEXTS_JS)) == []
            shot(page, f"station-reduced-plan-{lang}-{width}")
    assert page.console_errors == []


def test_routing_draft_sets_an_inspections_sampling_and_reduced_approval(plant_page, demo_db):
    page = plant_page
    from tests.floor.test_floor_routing_edits_web import _is200_draft
    rev_id, _op_id, item_id = _is200_draft(demo_db)
    sign_in(page, make_persona(demo_db, "pe"))
    for lang in ("en", "zh"):
        if lang == "zh":
            page.click("text=中文")
        for width, height in ((1366, 900), (1024, 768)):
            page.set_viewport_size({"width": width, "height": height})
            page.goto(f"{page.base}/drafts/routing/{rev_id}#insp-{item_id}")
            form = page.locator(f"#insp-{item_id} details.op-edit")
            form.evaluate("d => { d.open = true; }")
            assert form.locator("select[name=aql]").is_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            if lang == "zh":
                assert english_in(page.evaluate(_TEXTS_JS)) == []
            form.scroll_into_view_if_needed()
            shot(page, f"routing-draft-sampling-{lang}-{width}")
    form = page.locator(f"#insp-{item_id} details.op-edit")
    form.locator("select[name=inspection_level]").select_option("II")
    form.locator("select[name=aql]").select_option("0.65")
    form.locator("input[name=reduced_inspection_approved]").check()
    form.locator("input[name=reason]").fill("switching score allowed; production steady")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(f"#insp-{item_id} [data-reduced-approved]").is_visible()
    assert page.console_errors == []
