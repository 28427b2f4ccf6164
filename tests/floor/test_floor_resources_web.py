"""Items, equipment (calibration and maintenance plans) and tooling (life in cycles) created and
changed in the browser: field-named refusals, the reason audited, and the interlock follows."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from audit.models import AuditEntry
from engine.masterdata.models import Equipment, Item, Tooling
from tests.web.conftest import csrf_token, make_app, make_persona, sign_in


@pytest.fixture()
def engineer(demo_db):
    app = make_app(demo_db)
    client = app.test_client()
    assert sign_in(client, make_persona(demo_db, "pe")).status_code == 302
    yield client
    app.extensions["sealtrail.engine"].dispose()


def test_items_created_and_changed(engineer, demo_db):
    client = engineer
    assert 'id="edit-resources"' in client.get("/masterdata/").get_data(as_text=True)
    token = csrf_token(client, "/resources/")
    bad = client.post("/resources/items", data={"code": "CLAMP-2", "name": "Roller clamp v2", "item_type": "component",
                                                "base_unit": "bananas", "csrf_token": token})
    assert bad.status_code == 422 and 'data-field="base_unit"' in bad.get_data(as_text=True)
    assert 'value="CLAMP-2"' in bad.get_data(as_text=True)
    ok = client.post("/resources/items", data={"code": "CLAMP-2", "name": "Roller clamp v2", "item_type": "component",
                                               "base_unit": "pcs", "purchased": "on", "csrf_token": token})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/resources/items/CLAMP-2")
    dup = client.post("/resources/items", data={"code": "CLAMP-2", "name": "again", "item_type": "component",
                                                "base_unit": "pcs", "csrf_token": token})
    assert dup.status_code == 409
    no_reason = client.post("/resources/items/CLAMP-2", data={"name": "Roller clamp, ABS", "csrf_token": token})
    assert no_reason.status_code == 422 and 'data-field="reason"' in no_reason.get_data(as_text=True)
    changed = client.post("/resources/items/CLAMP-2", data={"name": "Roller clamp, ABS", "purchased": "on",
                                                            "active": "on", "reason": "material named",
                                                            "csrf_token": token})
    assert changed.status_code == 302
    with demo_db.sessions() as s:
        assert s.scalar(select(Item).where(Item.code == "CLAMP-2")).name == "Roller clamp, ABS"
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "item.update")).all()[-1]
        assert entry.reason == "material named" and entry.object_id == "CLAMP-2"


def test_equipment_plan_and_tooling_life(engineer, demo_db):
    client = engineer
    token = csrf_token(client, "/resources/?kind=equipment")
    page = client.get("/resources/equipment/LT-01").get_data(as_text=True)
    assert "Calibration due" in page
    bad = client.post("/resources/equipment/LT-01", data={"name": "Leak tester", "calibration_required": "on",
                                                          "calibration_interval_days": "every year",
                                                          "reason": "plan", "csrf_token": token})
    assert bad.status_code == 422 and 'data-field="calibration_interval_days"' in bad.get_data(as_text=True)
    today = dt.date.today().isoformat()
    ok = client.post("/resources/equipment/LT-01", data={"name": "Leak tester", "calibration_required": "on",
                                                         "calibration_interval_days": "180",
                                                         "last_calibrated_on": today,
                                                         "maintenance_interval_days": "90", "last_maintained_on": today,
                                                         "reason": "plan after audit", "csrf_token": token})
    assert ok.status_code == 302, ok.get_data(as_text=True)
    with demo_db.sessions() as s:
        lt = s.scalar(select(Equipment).where(Equipment.code == "LT-01"))
        assert lt.calibration_due_on == dt.date.today() + dt.timedelta(days=180)
        tool = s.scalars(select(Tooling).order_by(Tooling.code)).first()
    bad = client.post(f"/resources/tooling/{tool.code}", data={"name": tool.name, "life_cycles": "0",
                                                               "reason": "worn", "csrf_token": token})
    assert bad.status_code == 422 and 'data-field="life_cycles"' in bad.get_data(as_text=True)
    ok = client.post(f"/resources/tooling/{tool.code}", data={"name": tool.name, "life_cycles": "50000",
                                                              "reason": "supplier data", "csrf_token": token})
    assert ok.status_code == 302
    with demo_db.sessions() as s:
        assert s.scalar(select(Tooling).where(Tooling.code == tool.code)).life_cycles == 50000


@pytest.mark.parametrize("key", ["op", "qa", "auditor"])
def test_only_process_engineers_change_resources(demo_db, key):
    app = make_app(demo_db)
    client = app.test_client()
    try:
        assert sign_in(client, make_persona(demo_db, key)).status_code == 302
        assert client.get("/resources/").status_code == 403
        token = csrf_token(client, "/lots/")
        assert client.post("/resources/equipment/LT-01", data={"name": "x", "reason": "y", "csrf_token": token}
                           ).status_code == 403
    finally:
        app.extensions["sealtrail.engine"].dispose()
