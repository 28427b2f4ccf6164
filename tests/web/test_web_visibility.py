"""Task visibility has one home (``engine.workflows.visibility``): the inbox, the JSON API and the
task page agree, because all three ask it."""
from __future__ import annotations

from sqlalchemy import false, true

from engine.workflows import visibility
from tests.web.conftest import deploy_test_process, open_task_id, sign_in, start_change


def _seen(client, task_id: str) -> dict[str, bool]:
    """Whether the signed-in user finds the task in the inbox, in the API listing, on its page."""
    inbox = f"/tasks/{task_id}" in client.get("/inbox/").get_data(as_text=True)
    listing = client.get("/api/v1/tasks")
    api = listing.status_code == 200 and task_id in {t["task_id"] for t in listing.get_json()["tasks"]}
    page = client.get(f"/tasks/{task_id}").status_code == 200
    return {"inbox": inbox, "api": api, "page": page}


def _two_sessions(app, fresh_db, personas):
    deploy_test_process(fresh_db)
    task_id = open_task_id(fresh_db, start_change(fresh_db, personas("pe")))
    clients = {}
    for key in ("qa", "op"):
        client = app.test_client()
        assert sign_in(client, personas(key)).status_code == 302
        clients[key] = client
    return task_id, clients


def test_inbox_api_and_task_page_agree_on_who_sees_a_task(app, fresh_db, personas):
    task_id, clients = _two_sessions(app, fresh_db, personas)
    assert _seen(clients["qa"], task_id) == {"inbox": True, "api": True, "page": True}  # the lane's role
    assert _seen(clients["op"], task_id) == {"inbox": False, "api": False, "page": False}  # an outsider
    assert clients["op"].get(f"/api/v1/tasks/{task_id}").status_code == 403


def test_all_three_follow_the_one_rule_when_it_changes(app, fresh_db, personas, monkeypatch):
    """Change the rule in its home only: every path follows, so none keeps a copy of its own."""
    task_id, clients = _two_sessions(app, fresh_db, personas)
    monkeypatch.setattr(visibility, "task_filter", lambda viewer: true())
    monkeypatch.setattr(visibility, "can_see_task", lambda viewer, row: True)
    assert _seen(clients["op"], task_id) == {"inbox": True, "api": True, "page": True}
    monkeypatch.setattr(visibility, "task_filter", lambda viewer: false())
    monkeypatch.setattr(visibility, "can_see_task", lambda viewer, row: False)
    assert _seen(clients["qa"], task_id) == {"inbox": False, "api": False, "page": False}
