"""Quality-process fixtures: the small plant, enrolled signers, the shipped diagrams deployed."""
from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from cryptography.fernet import Fernet

from audit.enrollment import begin_enrollment, confirm_enrollment
from audit.policy import SigningPolicy
from engine.workflows import complete_task, deploy_all_shipped, open_tasks
from tests.processes.processes_plant import PASSWORD, build_plant


class Clock:
    """The signing policy's clock: each TOTP use moves it one step so no code is replayed."""

    def __init__(self):
        self.now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now


class Quality:
    """The plant plus helpers to sign tasks as its people and walk the diagrams."""

    def __init__(self, session):
        self.session = session
        self.plant = build_plant(session)
        self.clock = Clock()
        self.policy = SigningPolicy(totp_key=Fernet.generate_key(), clock=self.clock, idle_seconds=600)
        self.secrets: dict[str, str] = {}
        for name, user in self.plant.users.items():
            enrollment = begin_enrollment(session, user, policy=self.policy)
            confirm_enrollment(session, user, enrollment.credential_id, password=PASSWORD,
                               code=pyotp.TOTP(enrollment.secret).at(self.clock.now), policy=self.policy)
            self.secrets[name] = enrollment.secret
        result = deploy_all_shipped(session, self.plant.actor("qm_chen"))
        assert not result.problems, result.problems

    def rebind(self, session) -> None:
        """Continue in another transaction (after a commit, e.g. around a worker pass)."""
        from engine.users.models import User

        self.session = session
        self.plant.users = {n: session.get(User, u.id) for n, u in self.plant.users.items()}

    def user(self, name):
        return self.plant.users[name]

    def actor(self, name):
        return self.plant.actor(name)

    def tasks(self, instance_id: int) -> dict[str, object]:
        """The instance's ready user tasks by task id (spec name)."""
        return {t.spec_name: t for t in open_tasks(self.session, instance_id)}

    def complete(self, instance_id: int, task: str, who: str, data: dict):
        """Sign and complete ``task`` of the instance as ``who``; returns the Completion."""
        row = self.tasks(instance_id).get(task)
        assert row is not None, f"{task} is not ready; ready: {sorted(self.tasks(instance_id))}"
        self.clock.now += dt.timedelta(seconds=30)
        code = pyotp.TOTP(self.secrets[who]).at(self.clock.now)
        return complete_task(self.session, user=self.user(who), task_id=row.id, data=data, totp_code=code,
                             policy=self.policy, password=PASSWORD)


@pytest.fixture()
def quality(session) -> Quality:
    return Quality(session)
