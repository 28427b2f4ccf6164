"""The station pages: start behind the interlocks (refusals shown and recorded), record values
judged against their limits, finish; operators see only their own work; roles enforced."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from audit import SYSTEM
from audit.models import AuditEntry
from engine.db import utcnow
from engine.masterdata.models import Document, Product
from engine.masterdata.revisions import effective_revision
from engine.production import lots
from engine.production.models import ParameterMeasurement
from engine.users import accounts
from engine.users.training import record_training
from tests.web.conftest import csrf_token, make_app, make_persona, sign_in

LOT = "IS200-2612-301"


def _plant(demo_db):
    with demo_db.sessions.begin() as s:
        product = s.scalar(select(Product).where(Product.code == "IS-200"))
        lots.start_lot(s, SYSTEM, lots.plan_lot(s, SYSTEM, lot_number=LOT, quantity=100, product=product))


def _client(demo_db, key, *, train=()):
    app = make_app(demo_db)
    client = app.test_client()
    persona = make_persona(demo_db, key)
    with demo_db.sessions.begin() as s:
        user = accounts.get_user_by_name(s, persona.username)
        for code in train:
            doc = s.scalar(select(Document).where(Document.code == code))
            record_training(s, SYSTEM, user, effective_revision(s, doc), trained_on=utcnow().date())
    assert sign_in(client, persona).status_code == 302
    return app, client


@pytest.mark.requirement("21CFR11.10(i)")
def test_untrained_operator_is_refused_with_every_reason_and_the_refusal_is_recorded(demo_db):
    _plant(demo_db)
    app, client = _client(demo_db, "op")
    token = csrf_token(client, f"/floor/lots/{LOT}")
    refused = client.post(f"/floor/lots/{LOT}/operations", data={"operation": "LEAK", "equipment": "LT-01",
                                                                 "csrf_token": token})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="blocking"' in html
    for record in ("SOP-001 rev B", "SOP-003 rev A", "LT-01"):
        assert record in html
    with demo_db.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "operation.start.refused")).one()
        assert entry.object_id == LOT and "olly.operator is not trained on SOP-003 rev A" in entry.reason
    app.extensions["sealtrail.engine"].dispose()


@pytest.mark.requirement("21CFR11.10(i)")
def test_a_trained_operator_runs_an_operation_with_a_value_out_of_spec(demo_db):
    _plant(demo_db)
    app, client = _client(demo_db, "op", train=("SOP-002",))
    token = csrf_token(client, "/floor/")
    started = client.post(f"/floor/lots/{LOT}/operations", data={"operation": "UVB", "equipment": "UV-02",
                                                                 "csrf_token": token})
    assert started.status_code == 302 and "/floor/executions/" in started.headers["Location"]
    page = started.headers["Location"]
    html = client.get(page).get_data(as_text=True)
    assert 'data-lsl="50.0"' in html and 'data-usl="70.0"' in html  # the tablet judges while typing
    with demo_db.sessions() as s:
        uv = next(p for op in lots.get_lot(s, LOT).routing_revision.operations if op.code == "UVB"
                  for p in op.parameters if p.name == "UV intensity")
        uv_id = uv.id
    ok = client.post(f"{page}/measurements", data={"parameter": uv_id, "value": "61", "csrf_token": token})
    assert ok.status_code == 302
    bad = client.post(f"{page}/measurements", data={"parameter": uv_id, "value": "74,5", "csrf_token": token},
                      follow_redirects=True)
    assert "outside its specification" in bad.get_data(as_text=True)
    wrong = client.post(f"{page}/measurements", data={"parameter": uv_id, "value": "sixty", "csrf_token": token})
    assert wrong.status_code == 422 and "Enter a number" in wrong.get_data(as_text=True)
    with demo_db.sessions() as s:
        values = [(m.value, m.in_spec) for m in s.scalars(select(ParameterMeasurement).where(
            ParameterMeasurement.lot_id == lots.get_lot(s, LOT).id).order_by(ParameterMeasurement.id))]
        assert values == [(61.0, True), (74.5, False)]
    done = client.post(f"{page}/finish", data={"quantity_good": "100", "quantity_scrap": "0", "csrf_token": token})
    assert done.status_code == 302
    app.extensions["sealtrail.engine"].dispose()
    # another operator neither sees nor records on Olly's operation
    with demo_db.sessions.begin() as s:
        ex_id = lots.get_lot(s, LOT).executions[0].id
    zhang = demo_db.demo.credentials()["zhang.wei"]
    app = make_app(demo_db)
    other = app.test_client()
    assert sign_in(other, SimpleNamespace(username="zhang.wei", password=zhang.password)).status_code == 302
    assert other.get(f"/floor/executions/{ex_id}").status_code == 403
    token = csrf_token(other, "/floor/")
    assert other.post(f"/floor/executions/{ex_id}/measurements",
                      data={"parameter": uv_id, "value": "60", "csrf_token": token}).status_code == 403
    assert f"/floor/executions/{ex_id}" not in other.get("/floor/").get_data(as_text=True)
    app.extensions["sealtrail.engine"].dispose()


@pytest.mark.requirement("21CFR11.10(i)")
@pytest.mark.parametrize("key", ["qa", "pe", "auditor"])
def test_only_operators_and_production_managers_use_the_station(demo_db, key):
    _plant(demo_db)
    app, client = _client(demo_db, key)
    token = csrf_token(client, "/inbox/")
    assert client.get("/floor/").status_code == 403
    assert client.get(f"/floor/lots/{LOT}").status_code == 403
    assert client.post(f"/floor/lots/{LOT}/operations", data={"operation": "UVB", "csrf_token": token}).status_code == 403
    app.extensions["sealtrail.engine"].dispose()
