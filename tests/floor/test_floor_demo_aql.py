"""Issue #18's AQL Done-when on the freshly loaded demo: lot IS200-2611-006 (3,200 sets, in process)
and the visual inspection at PULL (ISO 2859-1, level II, AQL 1.0, released with the demo's routing)
ask for the published plan, normal inspection, code letter K: 125 sets, Ac 3, Re 4 — on the
operator's station page (zh and en), in the API, and a sample of any other size is refused naming
the plan, with nothing recorded."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from audit import SYSTEM
from audit.models import AuditEntry
from engine.access import tokens
from engine.production import lots
from engine.production.models import InspectionResult
from engine.users import accounts
from tests.web.conftest import csrf_token, make_app, sign_in

LOT = "IS200-2611-006"
ITEM = "Visual: particles, bubbles, incomplete bond"
PUBLISHED = ("normal", "K", 125, 3, 4)  # ISO 2859-1 Tables 1 and II-A: 3,200 units, level II, AQL 1.0


def _plan(p: dict) -> tuple:
    return p["severity"], p["code_letter"], p["sample_size"], p["accept"], p["reject"]


def _results(s) -> int:
    return s.scalar(select(func.count()).select_from(InspectionResult)
                    .where(InspectionResult.lot_id == lots.get_lot(s, LOT).id))


def test_the_demo_item_is_released_master_data_with_an_audited_level_and_aql(demo_db):
    with demo_db.sessions() as s:
        lot = lots.get_lot(s, LOT)
        assert (lot.status, lot.quantity_planned) == ("in_process", 3200)
        rev = lot.routing_revision
        assert rev.state == "released" and rev.master.code == "RT-IS200"
        item = next(i for op in rev.operations if op.code == "PULL" for i in op.inspection_items if i.name == ITEM)
        assert (item.kind, item.inspection_level, item.aql, item.reduced_inspection_approved) == \
            ("attribute", "II", 1.0, False)
        added = [e for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "routing.add_inspection_item"))
                 if e.after_value.get("name") == ITEM]
        assert [(e.after_value["inspection_level"], e.after_value["aql"]) for e in added] == [("II", 1.0)]
        # the finished lots of the demo's history drew the plan's sample too (2,000 sets: also K)
        history = s.scalars(select(InspectionResult).where(InspectionResult.inspection_item_id == item.id)).all()
        assert len(history) == 3 and {_plan(r.sampling_plan) for r in history} == {PUBLISHED}


def test_the_operators_station_asks_for_125_ac3_re4_and_refuses_another_sample(demo_db):
    creds = demo_db.demo.credentials()["zhang.wei"]  # the demo's operator, reading Chinese
    app = make_app(demo_db)
    client = app.test_client()
    try:
        assert sign_in(client, SimpleNamespace(username="zhang.wei", password=creds.password)).status_code == 302
        token = csrf_token(client, f"/floor/lots/{LOT}")
        started = client.post(f"/floor/lots/{LOT}/operations", data={"operation": "PULL", "equipment": "TT-01",
                                                                     "csrf_token": token})
        assert started.status_code == 302, started.get_data(as_text=True)
        page = started.headers["Location"]
        html = client.get(page).get_data(as_text=True)
        assert 'data-severity="normal"' in html and "正常检验" in html
        assert " II · AQL 1 — " in html
        assert "样本量字码 K：抽检 125 件；不合格品不超过 3 件接收，达到 4 件拒收" in html
        assert 'name="sample_size" inputmode="numeric" value="125"' in html
        with demo_db.sessions.begin() as s:
            accounts.get_user_by_name(s, "zhang.wei").locale = "en"
        html = client.get(page).get_data(as_text=True)
        assert "Normal inspection" in html and "ISO 2859-1 · level II · AQL 1 —" in html
        assert "code letter K: inspect 125 unit(s); accept with 3 or fewer nonconforming, reject with 4" in html
        with demo_db.sessions() as s:
            item_id = next(i.id for op in lots.get_lot(s, LOT).routing_revision.operations
                           for i in op.inspection_items if i.name == ITEM)
        for wrong in ("80", "124", "126", "200"):
            refused = client.post(f"{page}/inspections", data={"inspection": item_id, "sample_size": wrong,
                                                                "defects_found": "0", "csrf_token": token})
            text = refused.get_data(as_text=True)
            assert refused.status_code == 422, wrong
            assert (f"{ITEM} is sampled by ISO 2859-1 (level II, AQL 1, normal): lot of 3200, code letter K, "
                    f"draw 125 unit(s), accept with at most 3 nonconforming; {wrong} were inspected") in text
        with demo_db.sessions() as s:
            assert _results(s) == 0  # nothing half-written
        done = client.post(f"{page}/inspections", data={"inspection": item_id, "sample_size": "125",
                                                        "defects_found": "3", "csrf_token": token},
                           follow_redirects=True)
        assert f"{ITEM}: pass." in done.get_data(as_text=True)  # Ac 3
        with demo_db.sessions() as s:
            [row] = s.scalars(select(InspectionResult).where(InspectionResult.lot_id == lots.get_lot(s, LOT).id))
            assert (row.sample_size, row.result, _plan(row.sampling_plan)) == (125, "pass", PUBLISHED)
    finally:
        app.extensions["sealtrail.engine"].dispose()


@pytest.fixture()
def api(demo_db):
    with demo_db.sessions.begin() as s:
        read = tokens.create_token(s, SYSTEM, name="QA portal", scopes=[tokens.READ]).secret
        write = tokens.create_token(s, SYSTEM, name="MES line 1", scopes=[tokens.PRODUCTION]).secret
    app = make_app(demo_db)
    yield app.test_client(), {"Authorization": f"Bearer {read}"}, {"Authorization": f"Bearer {write}"}
    app.extensions["sealtrail.engine"].dispose()


def test_the_api_answers_the_same_plan_and_refuses_another_sample_naming_it(demo_db, api):
    client, read, write = api
    got = client.get(f"/api/v1/lots/{LOT}/inspection-plans", headers=read)
    assert got.status_code == 200, got.json
    (row,) = got.json["plans"]
    assert (got.json["lot"], row["operation"], row["inspection"]) == (LOT, "PULL", ITEM)
    plan = row["sampling_plan"]
    assert _plan(plan) == PUBLISHED
    assert (plan["lot_size"], plan["inspection_level"], plan["aql"], plan["full_inspection"]) == (3200, "II", 1.0, False)
    assert plan["switching"]["severity"] == "normal"
    assert client.post(f"/api/v1/lots/{LOT}/operations", headers=write, json={
        "operation": "PULL", "operator": "zhang.wei", "equipment": "TT-01"}).status_code == 201
    refused = client.post(f"/api/v1/lots/{LOT}/inspections", headers=write,
                          json={"operation": "PULL", "inspection": ITEM, "sample_size": 80, "defects_found": 0})
    assert refused.status_code == 422, refused.json
    assert "code letter K, draw 125 unit(s), accept with at most 3 nonconforming; 80 were inspected" in \
        str(refused.json)
    with demo_db.sessions() as s:
        assert _results(s) == 0
    failed = client.post(f"/api/v1/lots/{LOT}/inspections", headers=write,
                         json={"operation": "PULL", "inspection": ITEM, "sample_size": 125, "defects_found": 4})
    assert failed.status_code == 201 and failed.json["result"] == "fail"  # Re 4
    assert _plan(failed.json["sampling_plan"]) == PUBLISHED
