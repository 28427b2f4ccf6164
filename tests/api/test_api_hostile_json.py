"""Hostile JSON (issue #20, item 10): deep nesting is refused before parsing, and JSON types are
strict (``true`` is not a number, ``"5"`` is not an integer)."""
from __future__ import annotations

import json
import time
import uuid

import pytest

from engine.errors import BadRequest
from engine.jsonsafe import MAX_DEPTH, check_depth, nesting_depth
from tests.api.conftest import alarm_body, bearer


def _post(client, token, path: str, raw: bytes | str, key: str | None = None):
    headers = bearer(token) | {"Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    return client.post(path, data=raw, headers=headers)


@pytest.mark.parametrize("levels", [5_000, 20_000, 100_000])
def test_deeply_nested_alarm_bodies_get_a_400_problem(client, full_token, levels):
    nested = "[" * levels + "]" * levels
    raw = json.dumps(alarm_body()).replace('"seal bar above 185 \\u00b0C"', nested)
    started = time.monotonic()
    response = _post(client, full_token, "/api/v1/alarms", raw, str(uuid.uuid4()))
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/problem+json"
    assert f"at most {MAX_DEPTH}" in response.get_json()["detail"]
    assert time.monotonic() - started < 5
    assert client.get("/api/v1/health").status_code in (200, 503)


def test_a_nested_object_body_is_refused_the_same_way(client, full_token):
    raw = '{"a":' * 10_000 + "1" + "}" * 10_000
    response = _post(client, full_token, "/api/v1/instances", raw)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


def test_brackets_inside_strings_do_not_count():
    text = json.dumps({"message": "[" * 5000 + "{" * 5000, "quoted": 'say \\"[[[\\" ok', "n": [[1]]}).encode()
    assert nesting_depth(text) == 3  # the object, the list, the inner list
    check_depth(text)
    with pytest.raises(BadRequest):
        check_depth(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))


@pytest.mark.parametrize("severity", [True, False, "500", 500.5, None])
def test_severity_must_be_a_json_integer(client, full_token, severity):
    response = _post(client, full_token, "/api/v1/alarms", json.dumps(alarm_body(severity=severity)),
                     str(uuid.uuid4()))
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    assert any("severity" in str(e.get("field", e.get("loc", ""))) for e in response.get_json()["errors"])


@pytest.mark.parametrize("value", [True, "12.5"])
def test_a_measured_value_must_be_a_json_number(client, full_token, value):
    body = {"lot": "L-1", "operation": "OP10", "parameter": "Seal temperature", "value": value}
    response = _post(client, full_token, "/api/v1/measurements", json.dumps(body), str(uuid.uuid4()))
    assert response.status_code == 422, response.get_data(as_text=True)[:500]


def test_json_numbers_keep_their_json_schema_meaning(client, full_token):
    """An integer is a number, and 300.0 is an integer (JSON Schema), so both stay accepted."""
    response = _post(client, full_token, "/api/v1/alarms", json.dumps(alarm_body(value=185, severity=300.0)),
                     str(uuid.uuid4()))
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    assert response.get_json()["severity"] == 300


def test_alarm_rules_take_strict_types():
    from engine.errors import ValidationFailed
    from engine.ingest.rules import _validated

    assert _validated({"name": "r", "action": "log", "active": False, "min_severity": 2}).active is False
    for bad in ({"active": "yes"}, {"active": 1}, {"min_severity": True}, {"priority": "5"}):
        with pytest.raises(ValidationFailed):
            _validated({"name": "r", "action": "log"} | bad)


def test_an_mqtt_message_nested_too_deep_is_refused_before_parsing():
    from engine.ingest.mqtt_messages import parse_message

    payload = b'{"source":' + b"[" * 20_000 + b"]" * 20_000 + b"}"  # under the 64 KiB message limit
    with pytest.raises(ValueError, match=f"deeper than {MAX_DEPTH} levels"):
        parse_message("plant/+/alarms", "plant/L1/alarms", payload)
