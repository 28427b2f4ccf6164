"""``sealtrail serve --production``: gunicorn with several workers, JSON logs, readiness gate."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SEALTRAIL = [sys.executable, "-m", "web"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(url: str, tmp_path: Path) -> dict:
    env = dict(os.environ, SEALTRAIL_DATABASE_URL=url, SEALTRAIL_VAR_DIR=str(tmp_path / "var"))
    env.pop("SEALTRAIL_LOG_FORMAT", None)
    return env


def _get(url: str, headers: dict | None = None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_production_server_runs_workers_logs_json_and_stops_gracefully(fresh_db, tmp_path):
    port = _free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen([*SEALTRAIL, "serve", "--production", "--port", str(port),
                                   "--workers", "2", "--proxies", "1"],
                                  env=_env(fresh_db.url, tmp_path), stdout=log, stderr=log,
                                  cwd=Path(__file__).resolve().parents[2])
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status, _, body = _get(f"http://127.0.0.1:{port}/readyz")
                break
            except OSError:
                time.sleep(0.2)
        assert status == 200, log_path.read_text()
        assert json.loads(body)["status"] == "ready"
        status, headers, _ = _get(f"http://127.0.0.1:{port}/healthz",
                                  {"X-Request-ID": "probe-7", "X-Forwarded-For": "203.0.113.9"})
        assert status == 200 and headers["X-Request-ID"] == "probe-7"
    finally:
        server.send_signal(signal.SIGTERM)
        exit_code = server.wait(timeout=60)
    assert exit_code == 0  # graceful shutdown
    lines = [json.loads(line) for line in log_path.read_text().splitlines()
             if line.startswith("{")]
    booted = {line["pid"] for line in lines if line["msg"].startswith("Booting worker")}
    assert len(booted) == 2
    access = [line for line in lines if line["logger"] == "sealtrail.access"]
    probe = next(line for line in access if line["request_id"] == "probe-7")
    assert probe["path"] == "/healthz" and probe["status"] == 200
    assert probe["remote_addr"] == "203.0.113.9"  # one trusted proxy: the client's address


def test_production_server_refuses_an_unmigrated_database(db_server, tmp_path):
    name = f"{db_server.prefix}_serve_empty"
    url = db_server.create_empty(name)
    try:
        result = subprocess.run([*SEALTRAIL, "serve", "--production", "--port",
                                 str(_free_port())], env=_env(url, tmp_path),
                                capture_output=True, text=True, timeout=60,
                                cwd=Path(__file__).resolve().parents[2])
    finally:
        db_server.drop(name)
    assert result.returncode != 0
    assert "not ready, refusing to serve" in result.stderr
    assert "sealtrail init" in result.stderr
