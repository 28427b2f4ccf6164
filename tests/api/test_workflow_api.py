"""Start instances, read instances and tasks, send messages through the API."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from engine.workflows.deploy import deploy, latest_version
from engine.workflows.specs import Document
from tests.api.conftest import ADMIN, bearer

ENGINE_TESTS = Path(__file__).resolve().parent.parent / "engine"


@pytest.fixture(autouse=True)
def _test_forms(monkeypatch):
    monkeypatch.setenv("SEALTRAIL_FORMS_PATH", str(ENGINE_TESTS / "forms"))


@pytest.fixture()
def message_process(api_db):
    with api_db.sessions.begin() as session:
        if latest_version(session, "t_message") is None:
            path = ENGINE_TESTS / "bpmn" / "message.bpmn"
            deploy(session, ADMIN, [Document(path.name, path.read_bytes())], comment="API tests")
    return "t_message"


def test_start_list_and_message_an_instance(client, full_token, message_process):
    key = f"LOT-{uuid.uuid4().hex[:6]}"
    started = client.post("/api/v1/instances", headers=bearer(full_token),
                          json={"process_id": message_process, "business_key": key, "data": {"origin": "MES"}})
    assert started.status_code == 201, started.get_json()
    instance = started.get_json()
    assert instance["status"] in ("running", "waiting") and instance["waiting_for_messages"] == ["lab_result"]
    listed = client.get(f"/api/v1/instances?business_key={key}", headers=bearer(full_token)).get_json()
    assert [i["instance_id"] for i in listed["instances"]] == [instance["instance_id"]]
    sent = client.post("/api/v1/messages", headers=bearer(full_token),
                       json={"name": "lab_result", "business_key": key, "payload": {"passed": False}})
    assert sent.status_code == 200, sent.get_json()
    [after] = sent.get_json()["instances"]
    assert after["waiting_for_messages"] == [] and after["open_tasks"][0]["name"] == "ut_review"
    task_id = after["open_tasks"][0]["task_id"]
    task = client.get(f"/api/v1/tasks/{task_id}", headers=bearer(full_token)).get_json()
    assert task["instance_id"] == instance["instance_id"] and task["state"] == "ready"
    tasks = client.get(f"/api/v1/tasks?instance_id={instance['instance_id']}", headers=bearer(full_token)).get_json()
    assert [t["task_id"] for t in tasks["tasks"]] == [task_id]
    one = client.get(f"/api/v1/instances/{instance['instance_id']}", headers=bearer(full_token)).get_json()
    assert one["open_tasks"][0]["task_id"] == task_id


def test_message_to_nobody_waiting_is_404(client, full_token, message_process):
    response = client.post("/api/v1/messages", headers=bearer(full_token),
                           json={"name": "lab_result", "business_key": "NOBODY-WAITS"})
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    by_id = client.post("/api/v1/instances/999999/messages", headers=bearer(full_token), json={"name": "lab_result"})
    assert by_id.status_code == 404
    keyless = client.post("/api/v1/messages", headers=bearer(full_token), json={"name": "lab_result"})
    assert keyless.status_code == 422 and keyless.get_json()["errors"][0]["field"] == "business_key"


def test_unknown_process_and_scope(client, full_token, make_token):
    assert client.post("/api/v1/instances", headers=bearer(full_token),
                       json={"process_id": "no_such_process"}).status_code == 404
    reader = make_token("read", name="reader for workflows")
    assert client.post("/api/v1/instances", headers=bearer(reader),
                       json={"process_id": "t_message"}).status_code == 403
    assert client.get("/api/v1/instances", headers=bearer(reader)).status_code == 200
    assert client.get("/api/v1/tasks/nope", headers=bearer(reader)).status_code == 404
