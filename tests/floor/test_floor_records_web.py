"""Calibration/maintenance and training pages: a failed calibration opens the deviation from the
page; training recorded with its result; each refusal by role."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from audit import SYSTEM
from engine.production import lots
from engine.users import accounts
from engine.users.models import TrainingRecord
from engine.workflows import deploy_all_shipped
from tests.web.conftest import csrf_token, make_app, make_persona, sign_in


def _client(demo_db, key):
    app = make_app(demo_db)
    client = app.test_client()
    assert sign_in(client, make_persona(demo_db, key)).status_code == 302
    return app, client


def test_failed_calibration_from_the_page_opens_the_deviation(demo_db):
    with demo_db.sessions.begin() as s:
        deploy_all_shipped(s, SYSTEM)
    app, client = _client(demo_db, "pe")
    assert "UV-01" in client.get("/calibration/").get_data(as_text=True)
    token = csrf_token(client, "/calibration/UV-01")
    yesterday = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).date().isoformat()
    bad = client.post("/calibration/UV-01", data={"kind": "calibration", "result": "fail", "performed_on": "soon",
                                                  "performed_by": "Metrology lab", "csrf_token": token})
    assert bad.status_code == 422 and "Enter the date" in bad.get_data(as_text=True)
    page = client.post("/calibration/UV-01", data={
        "kind": "calibration", "result": "fail", "performed_on": yesterday, "performed_time": "10:00",
        "performed_by": "Metrology lab", "certificate_ref": "CAL-UV01-F", "as_found": "41 mW/cm²",
        "csrf_token": token})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="calibration-deviation"' in html
    assert 'data-lot="DRIP-2610-01"' in html and 'data-lot="IS200-2610-003"' in html
    with demo_db.sessions() as s:
        assert lots.get_lot(s, "IS200-2610-003").status == "on_hold"
    app.extensions["sealtrail.engine"].dispose()


def test_training_is_recorded_with_its_result(demo_db):
    app, client = _client(demo_db, "qa")
    token = csrf_token(client, "/training/")
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    answer = client.post("/training/", data={"user": "li.na", "revision": "SOP-001/B", "trained_on": today,
                                             "trainer": "王芳", "method": "read_and_acknowledge", "result": "fail",
                                             "score": "55", "csrf_token": token})
    assert answer.status_code == 302
    wrong = client.post("/training/", data={"user": "li.na", "revision": "SOP-001/B", "trained_on": today,
                                            "score": "lots", "csrf_token": token})
    assert wrong.status_code == 422 and "score" in wrong.get_data(as_text=True)
    with demo_db.sessions() as s:
        li = accounts.get_user_by_name(s, "li.na")
        rows = s.scalars(select(TrainingRecord).where(TrainingRecord.user_id == li.id,
                                                      TrainingRecord.result == "fail")).all()
        assert [(r.document_revision.label, r.score, r.method) for r in rows] == [("B", 55.0, "read_and_acknowledge")]
    app.extensions["sealtrail.engine"].dispose()


@pytest.mark.parametrize("key, path", [("op", "/calibration/"), ("auditor", "/calibration/"),
                                       ("op", "/training/"), ("auditor", "/training/")])
def test_roles_are_enforced(demo_db, key, path):
    app, client = _client(demo_db, key)
    token = csrf_token(client, "/inbox/")
    assert client.get(path).status_code == 403
    target = path + ("UV-02" if "calibration" in path else "")
    assert client.post(target, data={"csrf_token": token, "kind": "maintenance"}).status_code == 403
    app.extensions["sealtrail.engine"].dispose()
