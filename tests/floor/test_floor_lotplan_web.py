"""The lot planning page: a production manager plans a lot of the infusion set, starts it (the
master data in effect is pinned) and completes it; field-named refusals; other roles are refused."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from audit import SYSTEM
from audit.enrollment import begin_enrollment, confirm_enrollment
from audit.models import AuditEntry
from audit.policy import SigningPolicy
from engine.production import lots
from engine.users import create_user
from tests.web.conftest import PASSWORD, Persona, csrf_token, make_app, make_persona, sign_in


def _manager(db) -> Persona:
    policy = SigningPolicy.from_settings(db.settings())
    with db.sessions.begin() as s:
        user = create_user(s, SYSTEM, username="pia.manager", printed_name="Pia Manager", password=PASSWORD,
                           roles=("production_manager",), locale="en", timezone="UTC", must_change_password=False)
        persona = Persona(user.id, user.username, user.printed_name, ("production_manager",))
        enrollment = begin_enrollment(s, user, policy=policy)
        persona.secret = enrollment.secret
        confirm_enrollment(s, user, enrollment.credential_id, password=PASSWORD, code=persona.code(), policy=policy)
    return persona


@pytest.fixture()
def manager(demo_db):
    app = make_app(demo_db)
    client = app.test_client()
    assert sign_in(client, _manager(demo_db)).status_code == 302
    yield client
    app.extensions["sealtrail.engine"].dispose()


def test_plan_start_and_complete_a_lot_from_the_page(manager, demo_db):
    client = manager
    assert 'id="plan-lots"' in client.get("/lots/").get_data(as_text=True)
    page = client.get("/lots/plan/").get_data(as_text=True)
    assert 'value="product:IS-200"' in page
    token = csrf_token(client, "/lots/plan/")
    bad = client.post("/lots/plan/", data={"what": "product:IS-200", "lot_number": "IS200-2612-501",
                                           "quantity": "lots", "csrf_token": token})
    assert bad.status_code == 422 and "Enter a number" in bad.get_data(as_text=True)
    assert 'value="IS200-2612-501"' in bad.get_data(as_text=True)  # the entries are kept
    bad = client.post("/lots/plan/", data={"what": "product:NOPE", "lot_number": "IS200-2612-501",
                                           "quantity": "200", "csrf_token": token})
    assert bad.status_code == 404 or bad.status_code == 422
    planned = client.post("/lots/plan/", data={"what": "product:IS-200", "lot_number": "IS200-2612-501",
                                               "quantity": "200", "csrf_token": token})
    assert planned.status_code == 302
    again = client.post("/lots/plan/", data={"what": "product:IS-200", "lot_number": "IS200-2612-501",
                                             "quantity": "200", "csrf_token": token})
    assert again.status_code in (409, 422) and "IS200-2612-501" in again.get_data(as_text=True)
    assert 'data-start-lot="IS200-2612-501"' in client.get("/lots/plan/").get_data(as_text=True)
    assert client.post("/lots/plan/IS200-2612-501/start", data={"csrf_token": token}).status_code == 302
    with demo_db.sessions() as s:
        lot = lots.get_lot(s, "IS200-2612-501")
        assert lot.status == "in_process" and lot.manifest_sha256 and lot.routing_revision_id
    assert 'data-complete-lot="IS200-2612-501"' in client.get("/lots/plan/").get_data(as_text=True)
    refused = client.post("/lots/plan/IS200-2612-501/complete", data={"quantity_made": "-3", "csrf_token": token},
                          follow_redirects=True)
    assert "Enter a quantity between" in refused.get_data(as_text=True)
    done = client.post("/lots/plan/IS200-2612-501/complete", data={"quantity_made": "196", "csrf_token": token})
    assert done.status_code == 302 and done.headers["Location"].endswith("/lots/IS200-2612-501")
    with demo_db.sessions() as s:
        lot = lots.get_lot(s, "IS200-2612-501")
        assert (lot.status, lot.quantity_made) == ("completed", 196)
        actions = [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.object_id == "IS200-2612-501")
                                               .order_by(AuditEntry.seq))]
        assert actions == ["lot.plan", "lot.start", "lot.complete"]
        assert all(e.actor_name == "Pia Manager" for e in s.scalars(
            select(AuditEntry).where(AuditEntry.object_id == "IS200-2612-501")))


@pytest.mark.parametrize("key", ["op", "pe", "qa"])
def test_only_production_managers_plan_lots(demo_db, key):
    app = make_app(demo_db)
    client = app.test_client()
    try:
        assert sign_in(client, make_persona(demo_db, key)).status_code == 302
        assert client.get("/lots/plan/").status_code == 403
        assert 'id="plan-lots"' not in client.get("/lots/").get_data(as_text=True)
        token = csrf_token(client, "/lots/")
        refused = client.post("/lots/plan/", data={"what": "product:IS-200", "lot_number": "IS200-2612-502",
                                                   "quantity": "10", "csrf_token": token})
        assert refused.status_code == 403
        with demo_db.sessions() as s:
            assert s.scalar(select(lots.Lot).where(lots.Lot.lot_number == "IS200-2612-502")) is None
    finally:
        app.extensions["sealtrail.engine"].dispose()
