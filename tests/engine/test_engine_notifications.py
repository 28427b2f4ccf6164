"""Notifications through the outbox, delivered to a real SMTP server and a real HTTP receiver.

The outbox row is written in the event's transaction (rolled back with it), delivered once per
recipient and channel, retried while the server is down, grouped into a daily digest at the
user's hour in their time zone, and worded in the user's language. Times come from the test, not
the wall clock.
"""
from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import func, select

from audit.errors import SigningLocked, WrongPassword
from audit.models import AuditEntry
from audit.policy import SigningPolicy
from audit.signatures import sign

from engine.config import ConfigError
from engine.notifications import channels, outbox
from engine.notifications.delivery import MAX_ATTEMPTS, backoff, last_digest_moment, next_digest_moment
from engine.notifications.models import Notification
from engine.notifications.transports import SmtpTransport, webhook_body
from engine.notifications.messages import Item, render
from engine.users.models import UserRole
from engine.workflows import complete_task, open_tasks, start_instance
from engine.workflows.models import WorkflowTask
from tests.engine.conftest import World
from tests.engine.mailservers import Receiver, SmtpServer
from web.cli.notifications import deliver_notifications
from web.db import signing_transaction

REQUEST = {"number": "CR-7", "amount": 500, "reason": "new supplier for housing"}


@pytest.fixture()
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture()
def plant(fresh_db):
    """Alice (process engineer), two QA managers (one reads Chinese), and the approval diagram."""
    with fresh_db.sessions.begin() as session:
        world = World(session)
        for name in ("alice", "quinn", "quentin", "oscar"):
            user = world.user(name)
            user.email = f"{name}@plant.example"
        world.users["quentin"].locale = "zh_CN"
        world.users["quentin"].timezone = "Asia/Shanghai"
        world.deploy("approval.bpmn")
    return fresh_db, world


def settings_for(db, smtp_server=None):
    return db.settings(smtp_url=smtp_server.url if smtp_server else None, smtp_from="qms@plant.example",
                       public_url="https://qms.plant.example")


def start_request(db, world) -> tuple[int, str]:
    with db.sessions.begin() as session:
        world.session = session
        instance = start_instance(session, world.actor("alice"), "t_approval", user=world.user("alice"))
        [task] = open_tasks(session, instance.id)
        return instance.id, task.id


def soon(db) -> dt.datetime:
    """A moment just after the newest outbox row (rows carry the engine's time of the event)."""
    with db.sessions.begin() as session:
        return session.scalar(select(func.max(Notification.created_at))) + dt.timedelta(seconds=1)


def rows(db, **where):
    with db.sessions.begin() as session:
        query = select(Notification).order_by(Notification.id)
        for key, value in where.items():
            query = query.where(getattr(Notification, key) == value)
        return list(session.scalars(query))


def test_a_ready_task_is_mailed_once_to_each_role_member_with_title_and_link(plant, smtp):
    db, world = plant
    _, request_id = start_request(db, world)
    [row] = rows(db)
    assert (row.kind, row.channel, row.title, row.link) == ("task_ready", "email", "Request change",
                                                            f"/tasks/{request_id}")
    with db.sessions.begin() as session:  # Alice completes: the approval waits for both QA managers
        world.session = session
        complete_task(session, task_id=request_id, data=REQUEST, **world.signing("alice"))
    settings = settings_for(db, smtp)
    t0 = soon(db)
    stats = deliver_notifications(db.sessions, settings, now=t0)
    assert stats["sent"] == 2 and stats["failed"] == stats["retrying"] == 0  # Quinn and Quentin
    [done] = rows(db, subject_id=request_id)  # Alice's request is done: not sent any more
    assert (done.status, done.last_error) == ("suppressed", "the task is no longer waiting")
    [to_quinn] = smtp.inbox.to("quinn@plant.example")
    assert to_quinn["Subject"] == "Task waiting: Approve change" and to_quinn["From"] == "qms@plant.example"
    text = to_quinn.get_body(("plain",)).get_content()
    html = to_quinn.get_body(("html",)).get_content()
    approve = [r for r in rows(db) if r.user_id == world.users["quinn"].id][0]
    assert f"https://qms.plant.example/tasks/{approve.subject_id}" in text
    assert f'href="https://qms.plant.example/tasks/{approve.subject_id}"' in html
    assert "CR-7" not in text + html and "supplier" not in text + html  # no record data, title and link only
    assert not smtp.inbox.to("oscar@plant.example")  # an auditor holds no lane of these tasks
    assert [(r.status, bool(r.message_id)) for r in rows(db, kind="task_ready")][1:] == [("sent", True)] * 2
    assert deliver_notifications(db.sessions, settings, now=t0 + dt.timedelta(minutes=1))["sent"] == 0
    assert len(smtp.inbox.messages) == 2


def test_a_rolled_back_completion_leaves_nothing_to_send(plant, smtp):
    db, world = plant
    _, request_id = start_request(db, world)
    with pytest.raises(RuntimeError), db.sessions.begin() as session:
        world.session = session
        complete_task(session, task_id=request_id, data=REQUEST, **world.signing("alice"))
        assert session.scalar(select(func.count()).select_from(Notification)) == 3  # inside: written
        raise RuntimeError("the page failed after completing")
    assert [r.title for r in rows(db)] == ["Request change"]
    t0 = soon(db)
    deliver_notifications(db.sessions, settings_for(db, smtp), now=t0)
    assert [m["Subject"] for m in smtp.inbox.messages] == ["Task waiting: Request change"]


def test_mail_waits_while_the_server_is_down_and_goes_out_when_it_is_back(plant, smtp):
    db, world = plant
    start_request(db, world)
    settings = settings_for(db, smtp)
    smtp.stop()
    t0 = soon(db)
    stats = deliver_notifications(db.sessions, settings, now=t0)
    assert stats == {"queued": 0, "sent": 0, "retrying": 1, "failed": 0}
    [row] = rows(db)
    assert row.status == "pending" and row.attempts == 1 and "ConnectionRefusedError" in row.last_error
    assert row.next_attempt_at == t0 + backoff(1)
    smtp.start()
    assert deliver_notifications(db.sessions, settings, now=t0 + dt.timedelta(seconds=10))["sent"] == 0  # backoff
    assert deliver_notifications(db.sessions, settings, now=t0 + backoff(1))["sent"] == 1
    [row] = rows(db)
    assert row.status == "sent" and row.attempts == 2 and row.last_error is None
    assert len(smtp.inbox.messages) == 1


def test_a_refusing_server_is_retried_with_backoff_then_the_row_fails_with_the_reason(plant, smtp):
    db, world = plant
    start_request(db, world)
    settings = settings_for(db, smtp)
    smtp.inbox.refuse = True
    t0 = soon(db)
    now = t0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        stats = deliver_notifications(db.sessions, settings, now=now)
        assert stats["failed" if attempt == MAX_ATTEMPTS else "retrying"] == 1
        now += backoff(attempt)
    [row] = rows(db)
    assert row.status == "failed" and row.attempts == MAX_ATTEMPTS and "451" in row.last_error
    assert deliver_notifications(db.sessions, settings, now=now + dt.timedelta(days=1))["sent"] == 0


def test_email_waits_in_the_outbox_while_smtp_is_not_configured(plant, smtp):
    db, world = plant
    start_request(db, world)
    t0 = soon(db)
    assert deliver_notifications(db.sessions, settings_for(db), now=t0)["sent"] == 0
    assert [r.status for r in rows(db)] == ["pending"]
    assert deliver_notifications(db.sessions, settings_for(db, smtp), now=t0)["sent"] == 1


def test_daily_digest_groups_tasks_at_the_users_hour_in_chinese(plant, smtp):
    db, world = plant
    with db.sessions.begin() as session:
        channels.set_preference(session, world.actor("alice"), world.users["quentin"].id, mode="digest",
                                digest_hour=8)
    for _ in range(2):
        _, request_id = start_request(db, world)
        with db.sessions.begin() as session:
            world.session = session
            complete_task(session, task_id=request_id, data=REQUEST, **world.signing("alice"))
    settings = settings_for(db, smtp)
    # Rows were written at the wall-clock time; the digest comes at the first 08:00 Shanghai after it.
    created = max(r.created_at for r in rows(db, user_id=world.users["quentin"].id))
    before = next_digest_moment(created, 8, "Asia/Shanghai") - dt.timedelta(minutes=1)
    deliver_notifications(db.sessions, settings, now=before)
    assert not smtp.inbox.to("quentin@plant.example") and len(smtp.inbox.to("quinn@plant.example")) == 2
    deliver_notifications(db.sessions, settings, now=before + dt.timedelta(minutes=2))
    [digest] = smtp.inbox.to("quentin@plant.example")
    assert digest["Subject"] == "Sealtrail：2 条通知"
    text = digest.get_body(("plain",)).get_content()
    assert "您的 Sealtrail 每日汇总" in text and text.count("待办任务：Approve change") == 2
    assert len({r.message_id for r in rows(db, user_id=world.users["quentin"].id)}) == 1
    assert deliver_notifications(db.sessions, settings, now=before + dt.timedelta(days=1))["sent"] == 0


def test_escalations_only_suppresses_ready_tasks_but_not_an_overdue_escalation(plant, smtp):
    db, world = plant
    with db.sessions.begin() as session:
        channels.set_preference(session, world.actor("alice"), world.users["quinn"].id, mode="escalations")
    _, request_id = start_request(db, world)  # due in two days (dueIn P2D), process_engineer lane
    with db.sessions.begin() as session:
        session.add(UserRole(user_id=world.users["quinn"].id, role="production_manager"))
    [task_row] = rows(db)
    settings = settings_for(db, smtp)
    with db.sessions.begin() as session:
        due = session.get(WorkflowTask, request_id).due_at
    deliver_notifications(db.sessions, settings, now=due - dt.timedelta(hours=30))
    assert [m["Subject"] for m in smtp.inbox.messages] == ["Task waiting: Request change"]
    deliver_notifications(db.sessions, settings, now=due - dt.timedelta(hours=2))
    assert smtp.inbox.messages[-1]["Subject"] == "Due tomorrow: Request change"
    deliver_notifications(db.sessions, settings, now=due + dt.timedelta(minutes=1))
    [escalated] = smtp.inbox.to("quinn@plant.example")  # the lane's manager (production manager)
    assert escalated["Subject"] == "Overdue, escalated to you: Request change"
    deliver_notifications(db.sessions, settings, now=due + dt.timedelta(hours=1))
    assert len(smtp.inbox.messages) == 3 and task_row.kind == "task_ready"


def test_webhooks_post_to_the_lane_and_retry_a_failing_receiver(plant, receiver):
    db, world = plant
    with db.sessions.begin() as session:
        actor = world.actor("alice")
        channels.add_webhook(session, actor, name="qa-wecom", kind="wecom", url=receiver.url("/wecom?key=s3cret"),
                             role="qa_manager")
        channels.add_webhook(session, actor, name="qa-slack", kind="slack", url=receiver.url("/slack"),
                             role="qa_manager", locale="en")
    _, request_id = start_request(db, world)
    with db.sessions.begin() as session:
        world.session = session
        complete_task(session, task_id=request_id, data=REQUEST, **world.signing("alice"))
    receiver.body = b'{"errcode": 93000, "errmsg": "invalid webhook url"}'  # WeCom: HTTP 200, errcode
    with httpx.Client() as client:
        t0 = soon(db)
        stats = deliver_notifications(db.sessions, settings_for(db), now=t0, http=client)
        assert stats["sent"] == 1 and stats["retrying"] == 1  # Slack ignores the body; WeCom's errcode counts
        [wecom_row] = [r for r in rows(db, channel="webhook") if r.status == "pending"]
        assert "errcode 93000" in wecom_row.last_error
        receiver.body = b'{"errcode": 0, "errmsg": "ok"}'
        assert deliver_notifications(db.sessions, settings_for(db), now=t0 + backoff(1), http=client)["sent"] == 1
    paths = [p for p, _ in receiver.posts]
    assert paths.count("/wecom?key=s3cret") == 2 and paths.count("/slack") == 1
    wecom = [b for p, b in receiver.posts if p.startswith("/wecom")][-1]
    assert wecom["msgtype"] == "markdown" and "待办任务：Approve change" in wecom["markdown"]["content"]
    slack = [b for p, b in receiver.posts if p == "/slack"][0]
    assert "Task waiting: Approve change" in slack["text"] and "/tasks/" in slack["text"]
    assert {r.status for r in rows(db, channel="webhook")} == {"sent"}


def test_rendering_in_english_and_chinese():
    item = Item("task_ready", "Approve <change>", "https://q.example/tasks/1")
    en, zh = render([item], "en"), render([item], "zh_CN")
    assert en.subject == "Task waiting: Approve <change>" and zh.subject == "待办任务：Approve <change>"
    assert "Approve &lt;change&gt;" in en.html and "<change>" not in en.html  # escaped
    assert 'lang="zh-CN"' in zh.html and "在 Sealtrail 中打开" in zh.html
    assert webhook_body("dingtalk", zh)["markdown"]["title"] == zh.subject
    assert webhook_body("teams", en)["title"] == en.subject


def test_smtp_urls_are_parsed_strictly():
    t = SmtpTransport.from_url("smtps://mail%40plant:p%2Fw@mail.plant.example", "q@plant.example")
    assert (t.scheme, t.host, t.port, t.username, t.password) == ("smtps", "mail.plant.example", 465,
                                                                  "mail@plant", "p/w")
    assert SmtpTransport.from_url("smtp+starttls://mail.plant.example", "q@x").port == 587
    for bad in ("http://mail", "smtp://", "smtp://mail:99999", "smtp://mail/path", "smtp://mail?x=1"):
        with pytest.raises(ConfigError, match="SEALTRAIL_SMTP_URL"):
            SmtpTransport.from_url(bad, "q@x")


def test_digest_hours_follow_the_users_time_zone():
    now = dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.timezone.utc)  # 09:30 Shanghai, 01:30 UTC
    assert last_digest_moment(now, 8, "Asia/Shanghai") == dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.timezone.utc)
    assert last_digest_moment(now, 8, "UTC") == dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone.utc)
    assert next_digest_moment(now, 8, "Asia/Shanghai") == dt.datetime(2026, 3, 3, 0, 0, tzinfo=dt.timezone.utc)


def test_the_outbox_refuses_a_second_row_for_the_same_event_and_recipient(session, world):
    world.user("quinn")
    subject = outbox.Subject("task", "t-1", "Approve", "/tasks/t-1")
    assert outbox.enqueue(session, "task_ready", subject, users=[world.users["quinn"].id]) == 1
    assert outbox.enqueue(session, "task_ready", subject, users=[world.users["quinn"].id]) == 0
    assert session.scalar(select(func.count()).select_from(Notification)) == 1


def test_a_task_announcement_reaches_the_active_role_members_or_the_assignee_and_the_role_webhooks(session, world):
    """``announce`` resolves the recipients inside its INSERT: the rows and keys are those
    ``enqueue`` writes for the same people, so the two dedupe against each other."""
    from engine.notifications.models import WebhookChannel

    quinn, quentin, ivy = (world.user(n) for n in ("quinn", "quentin", "ivy"))
    ivy.active = False
    hook = WebhookChannel(name="qa-room", kind="slack", url="https://chat.example/hook", role="qa_manager")
    session.add_all([hook, WebhookChannel(name="ops-room", kind="slack", url="https://chat.example/ops",
                                          role="operator")])
    session.flush()
    at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
    subject = outbox.Subject("task", "t-9", "Approve CR-9", "/tasks/t-9")
    assert outbox.enqueue(session, "task_ready", subject, users=[quinn.id], now=at) == 1
    assert outbox.announce(session, "task_ready", subject, role="qa_manager", now=at) == 2  # quentin, the hook
    assert outbox.announce(session, "task_ready", subject, role="qa_manager", now=at) == 0
    assigned = outbox.Subject("task", "t-10", "Approve CR-10", "/tasks/t-10")
    assert outbox.announce(session, "task_ready", assigned, role="qa_manager", assignee_id=quinn.id, now=at) == 2
    assert outbox.announce(session, "task_ready", subject, role=None) == 0
    got = [(n.subject_id, n.channel, n.user_id, n.webhook_id, n.dedupe_key, n.status, n.created_at, n.title)
           for n in session.scalars(select(Notification).order_by(Notification.id))]
    assert got == [
        ("t-9", "email", quinn.id, None, f"task_ready:task:t-9:email:{quinn.id}", "pending", at, "Approve CR-9"),
        ("t-9", "email", quentin.id, None, f"task_ready:task:t-9:email:{quentin.id}", "pending", at, "Approve CR-9"),
        ("t-9", "webhook", None, hook.id, f"task_ready:task:t-9:webhook:{hook.id}", "pending", at, "Approve CR-9"),
        ("t-10", "email", quinn.id, None, f"task_ready:task:t-10:email:{quinn.id}", "pending", at, "Approve CR-10"),
        ("t-10", "webhook", None, hook.id, f"task_ready:task:t-10:webhook:{hook.id}", "pending", at,
         "Approve CR-10")]


def test_a_signing_lock_tells_the_person_in_the_locks_transaction(plant, smtp):
    db, world = plant
    policy = SigningPolicy(totp_key=world.policy.totp_key, clock=world.clock, idle_seconds=600, lockout_failures=2)
    quinn = world.users["quinn"]
    for _ in range(2):
        with pytest.raises((WrongPassword, SigningLocked)), signing_transaction(db.sessions, policy) as s:
            sign(s, quinn, password="wrong", totp_code=world.code("quinn"), meaning="approved",
                 record_type="test", record_id="1", record={"x": 1}, policy=policy)
    [row] = rows(db, kind="signing_locked")
    assert (row.user_id, row.link) == (quinn.id, "/account")
    deliver_notifications(db.sessions, settings_for(db, smtp), now=soon(db))
    [mail] = smtp.inbox.to("quinn@plant.example")
    assert mail["Subject"] == "Your electronic signing is locked"


def test_cli_webhooks_preferences_test_send_and_status(run_cli, fresh_db, smtp):
    with fresh_db.sessions.begin() as session:
        world = World(session)
        world.user("quinn").email = "quinn@plant.example"
        admin = world.user("oscar")
        session.add(UserRole(user_id=admin.id, role="admin"))
    added = run_cli(["notifications", "webhook", "add", "qa-teams", "--kind", "teams", "--role", "qa_manager",
                     "--url", "https://example.webhook.office.com/webhookb2/secret-token", "--by", "oscar"])
    assert added.exit_code == 0 and "to example.webhook.office.com" in added.output
    listed = run_cli(["notifications", "webhook", "list"]).output
    assert "qa-teams\tteams\tqa_manager" in listed and "secret-token" not in listed
    refused = run_cli(["notifications", "webhook", "add", "x", "--kind", "slack", "--role", "qa_manager",
                       "--url", "ftp://nowhere", "--by", "oscar"])
    assert refused.exit_code != 0 and "url must be an http(s) URL" in refused.output
    assert run_cli(["notifications", "webhook", "add", "y", "--kind", "slack", "--role", "qa_manager", "--url",
                    "https://hooks.example/x", "--by", "quinn"]).exit_code != 0  # not an administrator
    pref = run_cli(["notifications", "preference", "quinn", "--mode", "digest", "--hour", "7"])
    assert pref.exit_code == 0 and "quinn: digest at 07:00 (UTC)" in pref.output
    assert "test email to quinn queued" in run_cli(["notifications", "test-send", "quinn"]).output
    status = run_cli(["notifications", "status"]).output
    assert "SMTP: not configured" in status and "email: pending 1, sent 0" in status
    assert "pending #1 test email → quinn <quinn@plant.example>: attempts 0" in status
    with fresh_db.sessions.begin() as session:
        entries = [e.action for e in session.scalars(select(AuditEntry).where(AuditEntry.action.like("notification.%")))]
    assert entries == ["notification.webhook_added", "notification.preference_set"]
