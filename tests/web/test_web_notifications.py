"""The notification pages: an administrator adds a webhook, maps a directory group, queues a test
message and sees the outbox; a person sets their own preference (in English and Chinese)."""
from __future__ import annotations

from sqlalchemy import select

from engine.notifications.models import Notification, NotificationPreference, WebhookChannel
from engine.users.models import DirectoryGroupRole
from tests.web.conftest import csrf_token


def test_admin_adds_a_webhook_maps_a_group_and_queues_a_test(client, fresh_db, personas, login):
    admin, qa = personas("admin"), personas("qa")
    login(admin)
    page = client.get("/admin/notifications/")
    assert page.status_code == 200 and "not configured: email waits in the outbox" in page.get_data(as_text=True)
    token = csrf_token(client, "/admin/notifications/")
    bad = client.post("/admin/notifications/webhooks", data={"name": "qa", "kind": "wecom", "url": "ftp://x",
                                                             "role": "qa_manager", "locale": "zh_CN",
                                                             "csrf_token": token})
    assert bad.status_code == 422 and "url must be an http(s) URL" in bad.get_data(as_text=True)
    ok = client.post("/admin/notifications/webhooks", data={
        "name": "qa-wecom", "kind": "wecom", "url": "https://qyapi.example/cgi-bin/webhook/send?key=TOKEN123",
        "role": "qa_manager", "locale": "zh_CN", "csrf_token": token})
    assert ok.status_code == 302
    html = client.get("/admin/notifications/").get_data(as_text=True)
    assert "qa-wecom" in html and "qyapi.example" in html and "TOKEN123" not in html
    mapped = client.post("/admin/notifications/groups", data={"group_dn": "CN=QA,OU=Groups,DC=plant,DC=example",
                                                              "role": "qa_manager", "csrf_token": token})
    assert mapped.status_code == 302
    again = client.post("/admin/notifications/groups", data={"group_dn": "cn=qa,ou=groups,dc=plant,dc=example",
                                                             "role": "qa_manager", "csrf_token": token})
    assert again.status_code == 422 and "already maps" in again.get_data(as_text=True)
    assert client.post("/admin/notifications/test", data={"username": qa.username, "webhook": "0",
                                                          "csrf_token": token}).status_code == 302
    with fresh_db.sessions() as s:
        assert s.scalars(select(WebhookChannel.name)).all() == ["qa-wecom"]
        assert [(g.group_dn, g.role) for g in s.scalars(select(DirectoryGroupRole))] == [
            ("cn=qa,ou=groups,dc=plant,dc=example", "qa_manager")]
        assert [(n.kind, n.user_id) for n in s.scalars(select(Notification))] == [("test", qa.id)]
    unmapped = client.post("/admin/notifications/groups/unmap", data={
        "group_dn": "cn=qa,ou=groups,dc=plant,dc=example", "role": "qa_manager", "reason": "reorganised",
        "csrf_token": token})
    assert unmapped.status_code == 302
    with fresh_db.sessions() as s:
        assert s.scalars(select(DirectoryGroupRole)).all() == []


def test_a_person_sets_their_own_preference_in_chinese(client, fresh_db, personas, login):
    qa = personas("qa")
    login(qa)
    client.post("/language", data={"locale": "zh_CN", "csrf_token": csrf_token(client, "/account/notifications")})
    page = client.get("/account/notifications")
    assert page.status_code == 200
    token = csrf_token(client, "/account/notifications")
    bad = client.post("/account/notifications", data={"mode": "digest", "digest_hour": "25", "csrf_token": token})
    assert bad.status_code == 422
    ok = client.post("/account/notifications", data={"mode": "digest", "digest_hour": "7", "csrf_token": token})
    assert ok.status_code == 302
    with fresh_db.sessions() as s:
        pref = s.get(NotificationPreference, qa.id)
        assert (pref.mode, pref.digest_hour) == ("digest", 7)
