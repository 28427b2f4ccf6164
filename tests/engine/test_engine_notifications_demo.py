"""The issue's check on the demo plant: with SEALTRAIL_SMTP_URL at a loopback SMTP server,
``sealtrail worker --once`` mails every waiting demo task to its assignee or its lane's role
members (title + /tasks/ link), and a second ``--once`` sends nothing new."""
from __future__ import annotations

from collections import Counter

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select

from engine.users.models import User, UserRole
from engine.workflows.models import WorkflowTask
from tests.engine.mailservers import SmtpServer
from web.app import create_app
from web.cli import cli


@pytest.fixture()
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def expected_mail(db) -> Counter:
    """(address, title, task id) → 1 for every waiting task and each of its people."""
    want = Counter()
    with db.sessions.begin() as s:
        for task in s.scalars(select(WorkflowTask).where(WorkflowTask.state == "ready")):
            if task.assignee_id is not None:
                people = [s.get(User, task.assignee_id)]
            else:
                people = s.scalars(select(User).join(UserRole).where(UserRole.role == task.lane,
                                                                     User.active.is_(True))).all()
            for user in people:
                want[(user.email, task.title, task.id)] += 1
    return want


@pytest.mark.slow
def test_worker_once_mails_each_waiting_demo_task_once(fresh_db, smtp):
    demo_db = fresh_db
    app = create_app(settings=demo_db.settings(smtp_url=smtp.url, public_url="https://qms.plant.example"))

    def run(*args):
        return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app), catch_exceptions=False)

    try:
        loaded = run("demo", "--load-only")  # the plant and its waiting processes, as `make demo`
        assert "Waiting in an inbox" in loaded.output, loaded.output
        want = expected_mail(demo_db)
        assert len(want) >= 3  # the demo starts one instance of each regulated process
        first = run("worker", "--once")
        assert first.exit_code == 0, first.output
        got = Counter()
        for msg in smtp.inbox.messages:
            text = msg.get_body(("plain",)).get_content()
            [task_id] = {k[2] for k in want if f"https://qms.plant.example/tasks/{k[2]}" in text}
            title = msg["Subject"].split("：", 1)[-1].split(": ", 1)[-1]
            got[(msg["To"], title, task_id)] += 1
        assert got == want
        assert f"notifications sent: {len(want)}," in first.output
        second = run("worker", "--once")
        assert "notifications sent: 0," in second.output and len(smtp.inbox.messages) == len(want)
        status = run("notifications", "status")
        assert f"email: pending 0, sent {len(want)}, failed 0" in status.output
    finally:
        app.extensions["sealtrail.engine"].dispose()
