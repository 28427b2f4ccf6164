"""Serialised components at the line (#18) on the demo plant: the production token's API (idempotent,
refusals naming the serial) and the operator's page, with the rule 'floor.serials' per role."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from audit import SYSTEM
from audit.models import AuditEntry
from engine.access import tokens
from engine.demo.plant_data import LUER_GTIN
from engine.masterdata.models import Item, Product
from engine.production import lots
from engine.production.models import ComponentSerial, Lot
from engine.trace import serials
from tests.web.conftest import csrf_token, make_app, make_persona, sign_in

SET_GTIN = "06901234567892"
LOT = "IS200-2612-301"


def _luer(serial: str) -> str:
    return f"(01){LUER_GTIN}(21){serial}"


def _unit(serial: str) -> str:
    return f"(01){SET_GTIN}(21){serial}"


def _lot_with_units(demo_db) -> None:
    """A started infusion-set lot that consumed the received connectors, three units serialised."""
    with demo_db.sessions.begin() as s:
        product = s.scalars(select(Product).where(Product.code == "IS-200")).one()
        lot = lots.start_lot(s, SYSTEM, lots.plan_lot(s, SYSTEM, lot_number=LOT, quantity=3, product=product))
        luer = s.scalars(select(Lot).join(Item).where(Item.code == "CMP-LUER", Lot.source == "purchased")).one()
        lots.record_consumption(s, SYSTEM, lot, luer, quantity=3, unit="pcs")
        serials.assign_serials(s, SYSTEM, lot, ["IS2612300001", "IS2612300002", "IS2612300003"])


@pytest.fixture()
def mes(demo_db):
    _lot_with_units(demo_db)
    with demo_db.sessions.begin() as s:
        secret = tokens.create_token(s, SYSTEM, name="MES line 1", scopes=[tokens.PRODUCTION]).secret
    app = make_app(demo_db)
    client = app.test_client()

    def post(path, body, key=None):
        headers = {"Authorization": f"Bearer {secret}"}
        if key:
            headers["Idempotency-Key"] = key
        return client.post(f"/api/v1{path}", json=body, headers=headers)

    yield post
    app.extensions["sealtrail.engine"].dispose()


def test_the_production_token_fits_component_serials_once(mes, demo_db):
    body = {"components": [_luer("HLC2600006")]}
    first = mes(f"/lots/{LOT}/units/IS2612300001/components", body, key="fit-1")
    assert first.status_code == 201, first.json
    assert first.json["unit_serial"] == "IS2612300001" and first.json["lot"] == LOT
    assert [(c["item"], c["serial"]) for c in first.json["components"]] == [("CMP-LUER", "HLC2600006")]
    again = mes(f"/lots/{LOT}/units/IS2612300001/components", body, key="fit-1")  # a retry is answered as first answered
    assert again.status_code == first.status_code and again.json == first.json
    refused = mes(f"/lots/{LOT}/units/IS2612300002/components", {"components": [_luer("HLC2600006")]})
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    assert "HLC2600006 was already fitted into unit IS2612300001" in refused.json["detail"]
    unknown = mes(f"/lots/{LOT}/units/IS2612300002/components", {"components": [_luer("NOPE1")]})
    assert unknown.status_code == 404 and "'NOPE1'" in unknown.json["detail"]
    no_unit = mes(f"/lots/{LOT}/units/IS2612399999/components", {"components": [_luer("HLC2600007")]})
    assert no_unit.status_code == 404 and "no unit with serial 'IS2612399999'" in no_unit.json["detail"]
    with demo_db.sessions() as s:
        fitted = s.scalars(select(AuditEntry).where(AuditEntry.action == "serial.components_fitted",
                                                    AuditEntry.object_id == LOT)).all()
        assert len(fitted) == 1 and fitted[0].actor_kind == "api"
        row = s.scalars(select(ComponentSerial).where(ComponentSerial.serial == "HLC2600006")).one()
        assert row.unit_serial.serial == "IS2612300001" and row.fitted_at is not None


def test_the_production_token_records_a_component_lots_serials(mes, demo_db):
    with demo_db.sessions() as s:
        luer = s.scalars(select(Lot).join(Item).where(Item.code == "CMP-LUER", Lot.source == "purchased")).one()
        number = luer.lot_number
    answer = mes(f"/lots/{number}/component-serials", {"serials": ["HLC2600101", "HLC2600102"]}, key="rcv-1")
    assert answer.status_code == 201, answer.json
    assert answer.json == {"lot": number, "item": "CMP-LUER", "count": 2, "first": "HLC2600101", "last": "HLC2600102"}
    bad = mes(f"/lots/{number}/component-serials", {"serials": ["HLC 2600103"]})
    assert bad.status_code == 422 and "CSET 82" in bad.json["detail"]
    not_serialised = mes(f"/lots/{LOT}/component-serials", {"serials": ["X1"]})
    assert not_serialised.status_code == 422 and "not serialised" in not_serialised.json["detail"]


# admin holds every role but its session carries only the read scope (web.api.auth.ROLE_SCOPES)
@pytest.mark.parametrize("key, allowed, api_allowed", [
    ("op", True, True), ("admin", True, False), ("pe", False, False), ("qa", False, False), ("qe", False, False),
    ("auditor", False, False)])
def test_signed_in_people_need_floor_serials(demo_db, key, allowed, api_allowed):
    _lot_with_units(demo_db)
    app = make_app(demo_db)
    client = app.test_client()
    assert sign_in(client, make_persona(demo_db, key)).status_code == 302
    page = client.get("/floor/units/")
    api = client.post(f"/api/v1/lots/{LOT}/units/IS2612300003/components", json={"components": [_luer("HLC2600007")]},
                      headers={"X-CSRFToken": csrf_token(client, "/inbox/")})
    app.extensions["sealtrail.engine"].dispose()
    if allowed:
        assert page.status_code == 200 and 'id="fit-form"' in page.get_data(as_text=True)
    else:
        assert page.status_code == 403
    assert api.status_code == (201 if api_allowed else 403), api.json


def _manager(demo_db):
    app = make_app(demo_db)
    client = app.test_client()
    password = demo_db.demo.credentials()["liu.yang"].password  # production manager
    assert sign_in(client, SimpleNamespace(username="liu.yang", password=password)).status_code == 302
    return app, client


def test_the_page_fits_components_and_names_a_refused_serial(demo_db):
    _lot_with_units(demo_db)
    app, client = _manager(demo_db)
    token = csrf_token(client, "/floor/units/")
    done = client.post("/floor/units/components", data={
        "csrf_token": token, "unit": _unit("IS2612300001"), "components": _luer("HLC2600006") + "\n"})
    assert done.status_code == 302 and "unit=" in done.location
    shown = client.get(done.location).get_data(as_text=True)
    assert "HLC2600006" in shown and "IS2612300001" in shown and 'id="unit-components"' in shown
    refused = client.post("/floor/units/components", data={
        "csrf_token": token, "unit": _unit("IS2612300002"), "components": _luer("HLC2600001")})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "HLC2600001 was already fitted into unit IS2609000001 of lot IS200-2609-001" in text
    assert 'aria-invalid="true" aria-describedby="components-error"' in text
    empty = client.post("/floor/units/components", data={"csrf_token": token, "unit": _unit("IS2612300002")})
    assert empty.status_code == 422 and "请至少扫描一个组件序列号。" in empty.get_data(as_text=True)  # liu.yang reads zh
    received = client.post("/floor/units/receive", data={"csrf_token": token, "lot": LOT, "serials": "Z1"})
    assert received.status_code == 422 and "not serialised" in received.get_data(as_text=True)
    with demo_db.sessions() as s:
        assert s.scalars(select(ComponentSerial).where(ComponentSerial.serial == "HLC2600006")).one().unit_serial_id
        assert s.scalars(select(ComponentSerial).where(ComponentSerial.serial == "HLC2600001")).one() \
            .unit_serial.serial == "IS2609000001"
    app.extensions["sealtrail.engine"].dispose()


def test_an_item_is_made_serialised_on_its_master_data_page(demo_db):
    app = make_app(demo_db)
    client = app.test_client()
    assert sign_in(client, make_persona(demo_db, "pe")).status_code == 302
    token = csrf_token(client, "/resources/items/CMP-CAP")
    refused = client.post("/resources/items/CMP-CAP", data={
        "csrf_token": token, "name": "Protective cap, PE", "purchased": "on", "active": "on", "serialised": "on",
        "reason": "caps get serials"})
    assert refused.status_code == 422 and "needs its GTIN" in refused.get_data(as_text=True)
    saved = client.post("/resources/items/CMP-CAP", data={
        "csrf_token": token, "name": "Protective cap, PE", "purchased": "on", "active": "on", "serialised": "on",
        "gtin": "4012345000023", "reason": "the maker serialises caps now"})
    assert saved.status_code == 302
    app.extensions["sealtrail.engine"].dispose()
    with demo_db.sessions() as s:
        cap = s.scalars(select(Item).where(Item.code == "CMP-CAP")).one()
        assert (cap.gtin, cap.serialised) == ("04012345000023", True)
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "item.update", AuditEntry.object_id == "CMP-CAP")
                          .order_by(AuditEntry.id.desc())).first()
        assert entry.reason == "the maker serialises caps now" and entry.after_value["serialised"] is True
