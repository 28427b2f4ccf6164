"""Structured JSON logs carry the request id of the request that wrote them."""
from __future__ import annotations

import io
import json
import logging

import pytest

from tests.ops.conftest import make_app
from web import observability
from web.login import public


@pytest.fixture()
def json_log():
    stream = io.StringIO()
    handler = observability.make_handler("json")
    handler.setStream(stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.fixture()
def app_with_logging_view(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'log.db'}")

    @app.get("/work")
    @public  # pages require a signed-in user unless marked public
    def work():
        logging.getLogger("engine.something").warning("did %s", "work", extra={"lot": "L-1"})
        return "ok"

    return app


def test_every_line_of_a_request_carries_its_request_id(app_with_logging_view, json_log):
    response = app_with_logging_view.test_client().get("/work", headers={"X-Request-ID": "req-42"})
    assert response.headers["X-Request-ID"] == "req-42"
    lines = json_log()
    engine_line = next(line for line in lines if line["logger"] == "engine.something")
    access_line = next(line for line in lines if line["logger"] == "sealtrail.access")
    assert engine_line["request_id"] == access_line["request_id"] == "req-42"
    assert engine_line["msg"] == "did work" and engine_line["lot"] == "L-1"
    assert engine_line["level"] == "WARNING" and engine_line["ts"].endswith("Z")
    assert access_line["status"] == 200 and access_line["method"] == "GET"
    assert access_line["path"] == "/work"
    assert isinstance(access_line["duration_ms"], float) and 0 <= access_line["duration_ms"] < 60_000


def test_a_forged_request_id_is_replaced(app_with_logging_view, json_log):
    client = app_with_logging_view.test_client()
    response = client.get("/work", headers={"X-Request-ID": "x\" injected=1 " + "a" * 200})
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 32 and request_id.isalnum()
    assert json_log()[-1]["request_id"] == request_id


def test_request_ids_differ_between_requests_and_do_not_leak(app_with_logging_view, json_log):
    client = app_with_logging_view.test_client()
    first = client.get("/work").headers["X-Request-ID"]
    second = client.get("/work").headers["X-Request-ID"]
    assert first != second
    logging.getLogger("outside").warning("no request here")
    assert "request_id" not in json_log()[-1]


def test_exceptions_are_logged_as_one_json_line(json_log):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("engine.x").exception("failed")
    line = json_log()[-1]
    assert line["exc_type"] == "ValueError" and "boom" in line["exc"]


def test_unknown_log_format_is_refused():
    with pytest.raises(ValueError, match="SEALTRAIL_LOG_FORMAT"):
        observability.make_handler("xml")
