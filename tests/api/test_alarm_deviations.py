"""Alarms and process signals become deviations through the deviation process: open, attach, hold."""
from __future__ import annotations

import uuid

import pytest

from engine.ingest import rules
from engine.processes.models import Deviation
from engine.production.lots import get_lot
from engine.workflows.deploy import deploy_all_shipped
from tests.api.api_factories import make_sealing_line
from tests.api.conftest import ADMIN, alarm_body, bearer


@pytest.fixture(scope="session")
def shipped_processes(api_db):
    with api_db.sessions.begin() as session:
        result = deploy_all_shipped(session, ADMIN)
        assert not getattr(result, "problems", None), result


def _rule(api_db, **fields):
    with api_db.sessions.begin() as session:
        return rules.create_rule(session, ADMIN, {"name": f"rule {uuid.uuid4().hex[:6]}", **fields},
                                 reason="QA alarm philosophy rev 3").id


def _post(client, token, **body):
    return client.post("/api/v1/alarms", json=alarm_body(**body),
                       headers=bearer(token) | {"Idempotency-Key": str(uuid.uuid4())}).get_json()


def test_repeat_alarm_attaches_to_the_open_deviation(client, full_token, api_db, shipped_processes):
    code = f"SEAL_FAIL_{uuid.uuid4().hex[:6]}"
    _rule(api_db, code=code, action="deviation", attach_window_minutes=60, priority=1)
    first = _post(client, full_token, code=code, severity=700)
    again = _post(client, full_token, code=code, severity=700)
    other_source = _post(client, full_token, code=code, severity=700, source={"line": "L9", "equipment": "X"})
    assert first["outcome"] == "deviation_opened" and first["deviation_id"]
    assert again["outcome"] == "attached" and again["deviation_id"] == first["deviation_id"]
    assert other_source["outcome"] == "deviation_opened" and other_source["deviation_id"] != first["deviation_id"]
    with api_db.sessions.begin() as session:
        deviation = session.get(Deviation, first["deviation_id"])
        assert deviation.is_open and deviation.process_instance_id is not None
        assert deviation.source == "L1/SEALER-01" and code in deviation.description
        assert len(deviation.details["occurrences"]) == 1


def test_zero_window_opens_a_deviation_each_time(client, full_token, api_db, shipped_processes):
    code = f"NO_ATTACH_{uuid.uuid4().hex[:6]}"
    _rule(api_db, code=code, action="deviation", attach_window_minutes=0, priority=1)
    a, b = _post(client, full_token, code=code), _post(client, full_token, code=code)
    assert a["outcome"] == b["outcome"] == "deviation_opened" and a["deviation_id"] != b["deviation_id"]


def test_hold_rule_puts_the_lot_on_hold(client, full_token, api_db, shipped_processes):
    with api_db.sessions.begin() as session:
        line = make_sealing_line(session)
    code = f"VAC_LOSS_{uuid.uuid4().hex[:6]}"
    _rule(api_db, code=code, action="hold", min_severity=500, priority=1)
    low = _post(client, full_token, code=code, severity=100, lot=line["lot"])
    assert low["outcome"] == "logged"  # below the rule's severity range: no rule matches
    held = _post(client, full_token, code=code, severity=800, lot=line["lot"])
    assert held["outcome"] == "lot_held" and held["deviation_id"]
    with api_db.sessions.begin() as session:
        assert get_lot(session, line["lot"]).status == "on_hold"


def test_out_of_spec_value_opens_a_deviation_by_default(client, full_token, api_db, shipped_processes):
    with api_db.sessions.begin() as session:
        line = make_sealing_line(session)
    body = {"lot": line["lot"], "operation": "SEAL", "parameter": "Seal temperature", "value": 195.0,
            "equipment": line["equipment"]}
    first = client.post("/api/v1/measurements", json=body, headers=bearer(full_token)).get_json()
    [signal] = first["signals"]
    assert signal["outcome"] == "deviation_opened" and signal["deviation_id"]
    second = client.post("/api/v1/measurements", json=body | {"value": 196.0}, headers=bearer(full_token)).get_json()
    # no rule: repeats within the default window attach to the deviation still open
    assert second["signals"][0]["outcome"] == "attached"
    assert second["signals"][0]["deviation_id"] == signal["deviation_id"]
    with api_db.sessions.begin() as session:
        deviation = session.get(Deviation, signal["deviation_id"])
        assert deviation.lot_id is not None and deviation.value == 195.0 and deviation.unit == "degC"
