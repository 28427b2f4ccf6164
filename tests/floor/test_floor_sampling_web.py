"""ISO 2859-1 plans where inspections are recorded (issue #18): the station's form and the API show
each AQL inspection's plan for the lot with its severity and why (switching reason and score), the
sample field asks for the plan's sample, and the API answers with the plan it judged by."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from audit import SYSTEM
from engine.access import tokens
from engine.masterdata import revisions, routings
from engine.masterdata.models import Product, Routing
from engine.production import lots, records
from engine.users import accounts
from tests.floor.test_floor_station_web import _client
from tests.web.conftest import csrf_token, make_app

ITEM = "Visual: bond coverage"
LOT = "IS200-2612-401"


def _aql_plant(demo_db, *, approved: bool = True, good_lots: int = 10) -> None:
    """IS-200's routing with an AQL inspection at UV bonding (level II, AQL 1.0, reduced approved or
    not), released, and ``good_lots`` earlier lots of 3,200 inspected without a nonconforming unit."""
    with demo_db.sessions.begin() as s:
        product = s.scalar(select(Product).where(Product.code == "IS-200"))
        master = s.scalar(select(Routing).where(Routing.item_id == product.item_id))
        rev = revisions.new_draft(s, SYSTEM, master, change_summary="AQL inspection of UV bonds")
        op = next(o for o in rev.operations if o.code == "UVB")
        routings.add_inspection_item(s, SYSTEM, op, name=ITEM, method="visual under 1000 lx", sample_size=1,
                                     acceptance_criteria="ISO 2859-1, level II, AQL 1.0", inspection_level="II",
                                     aql=1.0, reduced_inspection_approved=approved)
        revisions.submit_for_review(s, SYSTEM, rev)
        revisions.release(s, SYSTEM, rev, reason="AQL sampling")
        item = next(i for i in op.inspection_items if i.name == ITEM)
        for n in range(good_lots):
            lot = lots.start_lot(s, SYSTEM, lots.plan_lot(s, SYSTEM, lot_number=f"IS200-2612-3{n:02d}",
                                                          quantity=3200, product=product))
            records.record_inspection(s, SYSTEM, lot, item, sample_size=125, defects_found=0)
        lots.start_lot(s, SYSTEM, lots.plan_lot(s, SYSTEM, lot_number=LOT, quantity=3200, product=product))


@pytest.mark.requirement("21CFR11.10(i)")
def test_the_station_shows_the_reduced_plan_and_why_and_records_by_it(demo_db):
    _aql_plant(demo_db)
    app, client = _client(demo_db, "op", train=("SOP-002",))
    token = csrf_token(client, "/floor/")
    started = client.post(f"/floor/lots/{LOT}/operations", data={"operation": "UVB", "equipment": "UV-02",
                                                                 "csrf_token": token})
    assert started.status_code == 302, started.get_data(as_text=True)
    page = started.headers["Location"]
    html = client.get(page).get_data(as_text=True)
    assert 'data-severity="reduced"' in html and "Reduced inspection" in html
    assert "switching score 30 reached; reduced inspection approved for this item" in html
    assert "code letter K: inspect 50 unit(s); accept with 2 or fewer nonconforming, reject with 3" in html
    assert 'name="sample_size" inputmode="numeric" value="50"' in html
    with demo_db.sessions() as s:
        item_id = next(i.id for op in lots.get_lot(s, LOT).routing_revision.operations
                       for i in op.inspection_items if i.name == ITEM)
    wrong = client.post(f"{page}/inspections", data={"inspection": item_id, "sample_size": "125",
                                                     "defects_found": "0", "csrf_token": token})
    assert wrong.status_code == 422 and "draw 50 unit(s)" in wrong.get_data(as_text=True)
    done = client.post(f"{page}/inspections", data={"inspection": item_id, "sample_size": "50",
                                                    "defects_found": "2", "csrf_token": token}, follow_redirects=True)
    assert f"{ITEM}: pass." in done.get_data(as_text=True)
    app.extensions["sealtrail.engine"].dispose()


def test_the_station_says_why_an_item_stays_normal_in_chinese_too(demo_db):
    _aql_plant(demo_db, approved=False)
    app, client = _client(demo_db, "op", train=("SOP-002",))
    token = csrf_token(client, "/floor/")
    page = client.post(f"/floor/lots/{LOT}/operations", data={"operation": "UVB", "equipment": "UV-02",
                                                              "csrf_token": token}).headers["Location"]
    html = client.get(page).get_data(as_text=True)
    assert 'data-severity="normal"' in html and 'data-switching-reason="score_not_approved"' in html
    assert "switching score 30, but reduced inspection is not approved for this item" in html
    assert 'value="125"' in html
    with demo_db.sessions.begin() as s:  # the same page for an operator reading Chinese
        accounts.get_user_by_name(s, "olly.operator").locale = "zh_CN"
    html = client.get(page).get_data(as_text=True)
    assert "正常检验" in html and "转移得分 30，但本检验项目未批准放宽检验" in html
    assert "样本量字码 K：抽检 125 件；不合格品不超过 3 件接收，达到 4 件拒收" in html
    from flask_babel import force_locale

    from web import inspection_plans as texts
    with app.test_request_context("/"), force_locale("zh_CN"):
        plan = {"switching": {"reason": "score_not_approved", "score": 30, "detail": {"needed": 30}}}
        assert texts.why(plan) == "转移得分 30，但本检验项目未批准放宽检验"
        assert texts.severity_label("reduced") == "放宽检验"
        assert texts.draw({"code_letter": "K", "sample_size": 50, "accept": 2, "reject": 3}) == \
            "样本量字码 K：抽检 50 件；不合格品不超过 2 件接收，达到 3 件拒收"
    app.extensions["sealtrail.engine"].dispose()


@pytest.fixture()
def api(demo_db):
    with demo_db.sessions.begin() as s:
        read = tokens.create_token(s, SYSTEM, name="QA portal", scopes=[tokens.READ]).secret
        write = tokens.create_token(s, SYSTEM, name="MES line 1", scopes=[tokens.PRODUCTION]).secret
    app = make_app(demo_db)
    client = app.test_client()
    yield client, {"Authorization": f"Bearer {read}"}, {"Authorization": f"Bearer {write}"}
    app.extensions["sealtrail.engine"].dispose()


def test_the_api_shows_the_plans_of_a_lot_and_answers_with_the_plan_it_judged_by(demo_db, api):
    _aql_plant(demo_db)
    client, read, write = api
    got = client.get(f"/api/v1/lots/{LOT}/inspection-plans", headers=read)
    assert got.status_code == 200, got.json
    (row,) = [p for p in got.json["plans"] if p["inspection"] == ITEM]  # the demo's own AQL item at PULL too
    plan = row["sampling_plan"]
    assert (row["operation"], row["inspection"]) == ("UVB", ITEM)
    assert (plan["severity"], plan["code_letter"], plan["sample_size"], plan["accept"], plan["reject"]) == \
        ("reduced", "K", 50, 2, 3)
    assert plan["switching"] == {"severity": "reduced", "reason": "score_reached", "score": None,
                                 "detail": {"score": 30}}
    assert client.get(f"/api/v1/lots/{LOT}/inspection-plans").status_code == 401
    assert client.get("/api/v1/lots/NO-SUCH-LOT/inspection-plans", headers=read).status_code == 404
    done = client.post(f"/api/v1/lots/{LOT}/inspections", headers=write,
                       json={"operation": "UVB", "inspection": ITEM, "sample_size": 50, "defects_found": 3})
    assert done.status_code == 201 and done.json["result"] == "fail"
    assert done.json["sampling_plan"]["severity"] == "reduced" and done.json["sampling_plan"]["accept"] == 2
    # Not accepted on reduced inspection: the next lot is normal again, the score from 0.
    with demo_db.sessions.begin() as s:
        product = s.scalar(select(Product).where(Product.code == "IS-200"))
        lots.start_lot(s, SYSTEM, lots.plan_lot(s, SYSTEM, lot_number="IS200-2612-402", quantity=3200,
                                                product=product))
    (row,) = [p for p in client.get("/api/v1/lots/IS200-2612-402/inspection-plans", headers=read).json["plans"]
              if p["inspection"] == ITEM]
    assert (row["sampling_plan"]["severity"], row["sampling_plan"]["sample_size"]) == ("normal", 125)
    assert row["sampling_plan"]["switching"]["reason"] == "not_accepted_on_reduced"


@pytest.mark.parametrize("key", ["op", "qa", "pe", "auditor"])
def test_every_signed_in_role_reads_the_plans(demo_db, key):
    _aql_plant(demo_db, good_lots=0)
    app, client = _client(demo_db, key)
    got = client.get(f"/api/v1/lots/{LOT}/inspection-plans")
    assert got.status_code == 200 and got.json["plans"][0]["sampling_plan"]["severity"] == "normal"
    assert got.json["plans"][0]["sampling_plan"]["switching"]["reason"] == "start"
    app.extensions["sealtrail.engine"].dispose()


def test_the_dhr_shows_the_plan_each_inspection_was_judged_by(demo_db, api):
    _aql_plant(demo_db)
    client, read, write = api
    assert client.post(f"/api/v1/lots/{LOT}/operations", headers=write, json={
        "operation": "UVB", "operator": "zhang.wei", "equipment": "UV-02"}).status_code == 201
    assert client.post(f"/api/v1/lots/{LOT}/inspections", headers=write, json={
        "operation": "UVB", "inspection": ITEM, "sample_size": 50, "defects_found": 1}).status_code == 201
    record = client.get(f"/api/v1/lots/{LOT}/dhr", headers=read).json
    (row,) = [i for i in record["inspections"] if i["item"] == ITEM]
    assert (row["sampling_plan"]["severity"], row["sampling_plan"]["accept"]) == ("reduced", 2)
    from engine.trace.dhr_pdf import _sample
    assert _sample(row) == "50 (reduced K, Ac 2 Re 3)"
    app, browser = _client(demo_db, "qa")
    html = browser.get(f"/trace/dhr/{LOT}").get_data(as_text=True)
    assert 'data-sampling-severity="reduced"' in html and "Reduced inspection</span>, ISO 2859-1 code letter K, Ac 2, Re 3" \
        in html and "switching score 30 reached; reduced inspection approved for this item" in html
    app.extensions["sealtrail.engine"].dispose()
