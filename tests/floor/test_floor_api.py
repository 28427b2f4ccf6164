"""The MES API on the demo plant with a `production` token: the issue's "done when" path end to end,
idempotency, refusals recorded, and the role checks for signed-in callers."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from audit import SYSTEM
from audit.models import AuditEntry
from engine.access import tokens
from engine.production import lots
from engine.workflows import deploy_all_shipped
from tests.web.conftest import csrf_token, make_app, make_persona, sign_in


@pytest.fixture()
def mes(demo_db):
    with demo_db.sessions.begin() as s:
        deploy_all_shipped(s, SYSTEM)
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


def _new_started_lot(post, number="IS200-2612-201"):
    assert post("/lots", {"lot_number": number, "code": "IS-200", "quantity": 500}).status_code == 201
    started = post(f"/lots/{number}/start", {})
    assert started.status_code == 201 and started.json["status"] == "in_process"
    return number


@pytest.mark.requirement("21CFR11.10(i)")
def test_done_when_leak_test_with_overdue_tester_and_untrained_operator(mes, demo_db):
    lot = _new_started_lot(mes)
    refused = mes(f"/lots/{lot}/operations", {"operation": "LEAK", "operator": "zhang.wei", "equipment": "LT-01"})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert [(b["code"], b["record"]) for b in refused.json["blocking"]] == [("equipment_calibration", "LT-01")]
    assert "LT-01" in refused.json["detail"] and refused.json["errors"][0]["field"] == "equipment"
    refused = mes(f"/lots/{lot}/operations", {"operation": "LEAK", "operator": "li.na", "equipment": "LT-01"})
    assert refused.status_code == 422
    assert "li.na is not trained on SOP-001 rev B" in refused.json["detail"]
    assert {b["record"] for b in refused.json["blocking"]} == {"SOP-001 rev B", "LT-01"}
    with demo_db.sessions() as s:  # both refusals are on the record, with who asked and why
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "operation.start.refused",
                                                     AuditEntry.object_id == lot)).all()
        assert len(entries) == 2 and entries[0].actor_kind == "api"
        assert "SOP-001 rev B" in entries[1].reason


@pytest.mark.requirement("21CFR11.10(i)")
def test_a_retried_refusal_is_answered_the_same_and_recorded_once(mes, demo_db):
    lot = _new_started_lot(mes)
    body = {"operation": "LEAK", "operator": "li.na", "equipment": "LT-01"}
    first = mes(f"/lots/{lot}/operations", body, key="leak-start-1")
    assert first.status_code == 422 and "Idempotent-Replayed" not in first.headers
    with demo_db.sessions.begin() as s:  # the tester is calibrated in the meantime: a new request passes LT-01
        from engine.masterdata.models import Equipment
        lt = s.scalar(select(Equipment).where(Equipment.code == "LT-01"))
        lt.calibration_due_on = lt.calibration_due_on + timedelta(days=3650)
    replay = mes(f"/lots/{lot}/operations", body, key="leak-start-1")
    assert replay.status_code == 422 and replay.mimetype == "application/problem+json"
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json == first.json
    other = mes(f"/lots/{lot}/operations", {**body, "operator": "zhang.wei"}, key="leak-start-1")
    assert other.status_code == 422 and other.json["type"].endswith("PayloadMismatch")
    with demo_db.sessions() as s:  # one refusal on the record, not one per retry
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "operation.start.refused",
                                                     AuditEntry.object_id == lot)).all()
        assert len(entries) == 1
    fresh = mes(f"/lots/{lot}/operations", body, key="leak-start-2")
    assert [b["record"] for b in fresh.json["blocking"]] == ["SOP-001 rev B"]


@pytest.mark.requirement("21CFR11.10(i)")
def test_done_when_failed_calibration_of_uv01_opens_the_deviation(mes, demo_db):
    body = {"kind": "calibration", "result": "fail", "performed_by": "Metrology lab",
            "performed_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(), "certificate_ref": "CAL-UV01-F",
            "as_found": "41 mW/cm² at set point 60", "as_left": "lamp replaced, not re-verified"}
    answer = mes("/equipment/UV-01/events", body, key="cal-uv01-1")
    assert answer.status_code == 201, answer.json
    dev = answer.json["deviation"]
    assert {row["lot_number"]: row["action"] for row in dev["lots"]} == {
        "DRIP-2610-01": "recall_assessment", "IS200-2610-003": "hold"}
    assert answer.json["equipment_status"] == "out_of_service"
    replay = mes("/equipment/UV-01/events", body, key="cal-uv01-1")
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json == answer.json
    with demo_db.sessions() as s:
        assert lots.get_lot(s, "IS200-2610-003").status == "on_hold"


@pytest.mark.requirement("21CFR11.10(i)")
def test_a_lot_runs_through_the_api(mes, demo_db):
    lot = _new_started_lot(mes, "IS200-2612-202")
    started = mes(f"/lots/{lot}/operations", {"operation": "UVB", "operator": "zhang.wei", "equipment": "UV-02"},
                  key="op-uvb")
    assert started.status_code == 201, started.json
    ex = started.json["execution_id"]
    assert mes(f"/lots/{lot}/operations", {"operation": "UVB", "operator": "zhang.wei", "equipment": "UV-02"},
               key="op-uvb").json["execution_id"] == ex
    consumed = mes(f"/lots/{lot}/consumptions", {"component_lot": "RCV-2609-006", "quantity": 500, "unit": "pcs"})
    assert consumed.status_code == 201 and consumed.json["component"] == "CMP-CLAMP"
    over = mes(f"/lots/{lot}/consumptions", {"component_lot": "RCV-2609-006", "quantity": 100, "unit": "pcs"})
    assert over.status_code == 422 and over.json["blocking"][0]["code"] == "quantity_beyond_bom"
    inspected = mes(f"/lots/{lot}/inspections", {"operation": "PULL", "inspection": "Pull strength of bonded joints",
                                                 "sample_size": 13, "measured_value": 22.5, "unit": "N",
                                                 "inspector": "chen.jing"})
    assert inspected.status_code == 201 and inspected.json["result"] == "pass"
    finished = mes(f"/executions/{ex}/finish", {"quantity_good": 498, "quantity_scrap": 2})
    assert finished.status_code == 201 and finished.json["ended_at"]
    assert mes(f"/lots/{lot}/complete", {"quantity_made": 498}).json["status"] == "completed"
    trained = mes("/training-records", {"user": "li.na", "document": "SOP-001", "revision": "B",
                                        "trained_on": datetime.now(UTC).date().isoformat(), "trainer": "王芳",
                                        "method": "read_and_acknowledge", "score": 95})
    assert trained.status_code == 201 and trained.json["result"] == "pass"
    missing = mes("/training-records", {"user": "li.na", "document": "SOP-001", "revision": "Z",
                                        "trained_on": "2026-01-01"})
    assert missing.status_code == 404 and missing.json["errors"][0]["field"] == "revision"


@pytest.mark.requirement("21CFR11.10(i)")
def test_tokens_without_the_production_scope_are_refused(demo_db):
    with demo_db.sessions.begin() as s:
        secret = tokens.create_token(s, SYSTEM, name="reader", scopes=[tokens.READ]).secret
    app = make_app(demo_db)
    answer = app.test_client().post("/api/v1/lots", json={"lot_number": "X-1", "code": "IS-200", "quantity": 1},
                                    headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 403 and "production" in answer.json["detail"]
    app.extensions["sealtrail.engine"].dispose()


@pytest.mark.requirement("21CFR11.10(i)")
@pytest.mark.parametrize("key, path, body", [
    ("op", "/lots", {"lot_number": "X-2", "code": "IS-200", "quantity": 1}),  # operators do not plan lots
    ("op", "/equipment/UV-02/events", {"kind": "maintenance", "performed_by": "me",
                                       "performed_at": "2026-01-01T00:00:00+00:00"}),
    ("op", "/training-records", {"user": "li.na", "document": "SOP-001", "revision": "B",
                                 "trained_on": "2026-01-01"}),
    ("pe", "/lots/IS200-2611-004/operations", {"operation": "ASM", "operator": "zhang.wei"}),
    ("op", "/lots/IS200-2611-004/operations", {"operation": "ASM", "operator": "zhang.wei"}),  # not as themselves
    ("auditor", "/lots", {"lot_number": "X-3", "code": "IS-200", "quantity": 1}),
])
def test_signed_in_people_need_the_role(demo_db, key, path, body):
    app = make_app(demo_db)
    client = app.test_client()
    assert sign_in(client, make_persona(demo_db, key)).status_code == 302
    answer = client.post(f"/api/v1{path}", json=body, headers={"X-CSRFToken": csrf_token(client, "/inbox/")})
    assert answer.status_code == 403, answer.json
    app.extensions["sealtrail.engine"].dispose()
