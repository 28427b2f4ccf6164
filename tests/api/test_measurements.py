"""POST /api/v1/measurements: limits of the lot's routing revision, unit conversion, SPC."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from engine.ingest import baselines, rules
from engine.ingest.models import Alarm
from engine.production.models import ParameterMeasurement
from tests.api.api_factories import ENGINEER, make_sealing_line
from tests.api.conftest import ADMIN, bearer


@pytest.fixture()
def line(api_db):
    with api_db.sessions.begin() as session:
        return make_sealing_line(session)


@pytest.fixture()
def log_process_signals(api_db, line):
    """QA rule: process signals of this line's sealer are logged (deviation paths: test_deviations)."""
    with api_db.sessions.begin() as session:
        rule = rules.create_rule(session, ADMIN, {"name": f"log {line['tag']}", "line": "process-control",
                                                   "equipment": line["equipment"], "action": "log",
                                                   "priority": 1}, reason="test")
        return rule.id


def _measure(client, token, line, value, unit="degC", **extra):
    body = {"lot": line["lot"], "operation": line["operation"], "parameter": line["parameter"],
            "value": value, "unit": unit, "equipment": line["equipment"]} | extra
    return client.post("/api/v1/measurements", json=body, headers=bearer(token))


def test_in_spec_value_is_recorded_in_the_lot(client, full_token, line, api_db):
    response = _measure(client, full_token, line, 180.5)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["in_spec"] and answer["in_control"] and answer["signals"] == []
    with api_db.sessions.begin() as session:
        row = session.get(ParameterMeasurement, answer["measurement_id"])
        assert row.source == "api" and row.value == 180.5 and row.lot.lot_number == line["lot"]


def test_units_are_converted_before_judging(client, full_token, line, log_process_signals):
    # 356 °F = 180 °C (in spec); 400 °F = 204.4 °C (out of spec)
    ok = _measure(client, full_token, line, 356, unit="degF").get_json()
    assert ok["value_in_parameter_unit"] == pytest.approx(180.0) and ok["in_spec"]
    bad = _measure(client, full_token, line, 400, unit="degF").get_json()
    assert not bad["in_spec"] and bad["signals"][0]["code"].startswith("OOS:")
    wrong = _measure(client, full_token, line, 5, unit="kg")
    assert wrong.status_code == 422 and wrong.get_json()["errors"][0]["field"] == "unit"


def test_control_limits_warn_spec_limits_signal(client, full_token, line, log_process_signals, api_db):
    warn = _measure(client, full_token, line, 186.0).get_json()
    assert warn["in_spec"] and not warn["in_control"] and warn["warnings"] and warn["signals"] == []
    oos = _measure(client, full_token, line, 191.0).get_json()
    assert not oos["in_spec"]
    [signal] = oos["signals"]
    assert signal["outcome"] == "logged"  # per the QA rule of this test
    with api_db.sessions.begin() as session:
        alarm = session.get(Alarm, signal["alarm_id"])
        assert alarm.channel == "process" and alarm.lot_number == line["lot"] and alarm.value == 191.0


def test_unknown_lot_operation_parameter_are_named(client, full_token, line):
    for field, value in (("lot", "NO-SUCH-LOT"), ("operation", "WELD"), ("parameter", "Pressure")):
        response = _measure(client, full_token, line, 180, **{field: value})
        assert response.status_code == 404
        assert response.get_json()["errors"][0]["field"] == field


def test_batch_is_all_or_nothing(client, full_token, line, api_db):
    item = {"lot": line["lot"], "operation": "SEAL", "parameter": "Seal temperature", "value": 180.0}
    with api_db.sessions.begin() as session:
        before = session.scalar(select(func.count()).select_from(ParameterMeasurement))
    bad = client.post("/api/v1/measurements/batch", headers=bearer(full_token),
                      json={"measurements": [item, item | {"unit": "bar"}, item]})
    assert bad.status_code == 422
    assert bad.get_json()["errors"][0]["field"] == "measurements.1.unit"
    with api_db.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(ParameterMeasurement)) == before
    good = client.post("/api/v1/measurements/batch", headers=bearer(full_token),
                       json={"measurements": [item, item | {"value": 181.0}]})
    assert good.status_code == 201 and len(good.get_json()["measurements"]) == 2


def test_measurement_retry_with_idempotency_key(client, full_token, line, api_db):
    key = str(uuid.uuid4())
    body = {"lot": line["lot"], "operation": "SEAL", "parameter": "Seal temperature", "value": 179.0}
    first = client.post("/api/v1/measurements", json=body, headers=bearer(full_token) | {"Idempotency-Key": key})
    again = client.post("/api/v1/measurements", json=body, headers=bearer(full_token) | {"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["measurement_id"] == first.get_json()["measurement_id"]


def test_spc_rule_fires_over_the_series(client, full_token, line, log_process_signals, api_db):
    with api_db.sessions.begin() as session:
        parameter = baselines.find_parameter(session, routing=line["routing"], operation="SEAL",
                                             parameter="Seal temperature")
        baselines.establish(session, ENGINEER, parameter, values=[179.5, 180.5] * 6, reason="PQ run 3",
                            rules="1 2 3 4")
    # centre 180, sigma ≈ 0.52: two of three beyond 2 sigma high (in spec, in control) → WE rule 2
    first = _measure(client, full_token, line, 181.2).get_json()
    assert first["spc_violations"] == []
    second = _measure(client, full_token, line, 181.3).get_json()
    assert [v["rule"] for v in second["spc_violations"]] == [2]
    assert second["in_spec"] and second["in_control"]
    assert second["signals"][0]["code"].startswith("SPC-WE2:")


def test_measurements_need_their_scope(client, make_token, line):
    reader = make_token("read", name="reader for measurements")
    assert _measure(client, reader, line, 180).status_code == 403


@pytest.mark.timeout(30)
@pytest.mark.parametrize("unit", ["9**9**9 kPa", "10**10**7 kPa", "(", "kPa/0"])
def test_hostile_unit_is_refused_at_once_while_healthz_answers(app, full_token, line, unit):
    """pint evaluated arithmetic in units: 9**9**9 froze the server, ( and kPa/0 answered 500."""
    import threading

    answers = {}

    def post():
        answers["post"] = _measure(app.test_client(), full_token, line, 180.0, unit=unit)

    poster = threading.Thread(target=post, daemon=True)
    poster.start()
    health = app.test_client().get("/healthz")
    poster.join(timeout=5)
    assert health.status_code == 200
    assert not poster.is_alive(), "the measurement with a hostile unit did not return"
    response = answers["post"]
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"][0]["field"] == "unit"
