"""The "New" menu: each role sees the processes it may start and starts them with their form."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from audit import SYSTEM
from engine.processes.models import Deviation
from engine.workflows import deploy_all_shipped
from tests.web.conftest import csrf_token, make_app, make_persona, sign_in


def _client(demo_db, key):
    with demo_db.sessions.begin() as s:
        deploy_all_shipped(s, SYSTEM)
    app = make_app(demo_db)
    client = app.test_client()
    assert sign_in(client, make_persona(demo_db, key)).status_code == 302
    return app, client


def test_a_process_engineer_starts_a_change_request_and_lands_on_its_form(demo_db):
    app, client = _client(demo_db, "pe")
    html = client.get("/new/").get_data(as_text=True)
    assert 'id="start-change_control"' in html and 'id="start-deviation"' not in html
    started = client.post("/new/change_control", data={"csrf_token": csrf_token(client, "/new/")})
    assert started.status_code == 302 and "/tasks/" in started.headers["Location"]
    assert client.post("/new/deviation", data={"description": "x", "csrf_token": csrf_token(client, "/new/")}
                       ).status_code == 403
    app.extensions["sealtrail.engine"].dispose()


def test_qa_opens_a_deviation_on_a_lot(demo_db):
    app, client = _client(demo_db, "qa")
    html = client.get("/new/").get_data(as_text=True)
    assert 'id="start-deviation"' not in html  # the deviation's start lane is qa_engineer
    app.extensions["sealtrail.engine"].dispose()


def test_admin_opens_a_deviation_with_a_field_error_first(demo_db):
    app, client = _client(demo_db, "admin")
    token = csrf_token(client, "/new/")
    wrong = client.post("/new/deviation", data={"description": "burr on spike", "lot": "NO-SUCH-LOT",
                                                "csrf_token": token})
    assert wrong.status_code == 422 and "NO-SUCH-LOT" in wrong.get_data(as_text=True)
    done = client.post("/new/deviation", data={"description": "burr on spike", "lot": "IS200-2610-002",
                                               "csrf_token": token})
    assert done.status_code == 302
    with demo_db.sessions() as s:
        dev = s.scalars(select(Deviation).where(Deviation.description == "burr on spike")).one()
        assert dev.lot.lot_number == "IS200-2610-002" and dev.source == "user"
    app.extensions["sealtrail.engine"].dispose()


@pytest.mark.parametrize("key", ["op", "auditor"])
def test_roles_without_a_start_lane_start_nothing(demo_db, key):
    app, client = _client(demo_db, key)
    assert 'id="start-' not in client.get("/new/").get_data(as_text=True)
    token = csrf_token(client, "/new/")
    for process in ("deviation", "capa", "change_control", "audit_review"):
        assert client.post(f"/new/{process}", data={"csrf_token": token}).status_code == 403
    app.extensions["sealtrail.engine"].dispose()
