"""Engine fixtures: test diagrams and forms, personas with roles and enrolled authenticators.

Personas: Alice (process engineer, initiates changes), Quinn and Quentin (QA managers, approve),
Pat (production manager), Olive (operator), Eve (QA engineer), Oscar (auditor: an outsider to
every lane used here), Ivy (process engineer and QA manager: tempted to approve her own work).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyotp
import pytest
from cryptography.fernet import Fernet

from audit.enrollment import begin_enrollment, confirm_enrollment
from audit.passwords import hash_password
from audit.policy import SigningPolicy
from engine.users.models import User, UserRole
from engine.workflows import Document, actor_of, deploy

HERE = Path(__file__).resolve().parent
BPMN_DIR = HERE / "bpmn"
FORMS_DIR = HERE / "forms"
PASSWORD = "Correct-Horse-42"
_HASH = hash_password(PASSWORD)

PERSONAS = {
    "alice": ("Alice Initiator", ["process_engineer", "operator"]),
    "quinn": ("Quinn QA", ["qa_manager"]),
    "quentin": ("Quentin QA", ["qa_manager"]),
    "pat": ("Pat Production", ["production_manager"]),
    "olive": ("Olive Operator", ["operator"]),
    "eve": ("Eve QA Engineer", ["qa_engineer"]),
    "oscar": ("Oscar Auditor", ["auditor"]),
    "ivy": ("Ivy Both", ["process_engineer", "qa_manager"]),
}


@pytest.fixture(autouse=True)
def _test_forms(monkeypatch):
    monkeypatch.setenv("SEALTRAIL_FORMS_PATH", str(FORMS_DIR))


class Clock:
    """A controllable UTC clock for the signing policy (each code use advances one TOTP step)."""

    def __init__(self):
        self.now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


class World:
    """Users, their TOTP secrets, a signing policy and helpers to sign tasks."""

    def __init__(self, session):
        self.session = session
        self.clock = Clock()
        self.policy = SigningPolicy(totp_key=Fernet.generate_key(), clock=self.clock, idle_seconds=600)
        self.users: dict[str, User] = {}
        self.secrets: dict[str, str] = {}

    def user(self, name: str) -> User:
        if name not in self.users:
            printed, roles = PERSONAS[name]
            user = User(username=f"{name}", printed_name=printed, password_hash=_HASH, active=True,
                        must_change_password=False, locale="en", timezone="UTC",
                        role_rows=[UserRole(role=r) for r in roles])
            self.session.add(user)
            self.session.flush()
            enrollment = begin_enrollment(self.session, user, policy=self.policy)
            confirm_enrollment(self.session, user, enrollment.credential_id, password=PASSWORD,
                               code=pyotp.TOTP(enrollment.secret).at(self.clock.now), policy=self.policy)
            self.clock.advance(30)
            self.users[name] = user
            self.secrets[name] = enrollment.secret
        return self.users[name]

    def code(self, name: str) -> str:
        """A fresh code for ``name`` (the clock moves one step so no code is ever replayed)."""
        self.clock.advance(30)
        return pyotp.TOTP(self.secrets[name]).at(self.clock.now)

    def signing(self, name: str, **overrides) -> dict:
        """Keyword arguments of complete_task for ``name`` signing with password + TOTP."""
        args = dict(user=self.user(name), password=PASSWORD, totp_code=self.code(name), policy=self.policy)
        args.update(overrides)
        return args

    def actor(self, name: str):
        return actor_of(self.user(name))

    def deploy(self, *files: str, comment: str | None = None):
        docs = [Document(f, (BPMN_DIR / f).read_bytes()) for f in files]
        return deploy(self.session, self.actor("alice"), docs, comment=comment)


@pytest.fixture()
def world(session) -> World:
    return World(session)


@pytest.fixture()
def run_cli(fresh_db):
    """Invoke ``sealtrail ARGS`` against ``fresh_db`` (the app's engine is disposed afterwards)."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from web.app import create_app
    from web.cli import cli

    app = create_app(settings=fresh_db.settings())

    def run(args, input=None):
        return CliRunner().invoke(cli, args, obj=ScriptInfo(create_app=lambda: app), catch_exceptions=False,
                                  input=input)

    run.app = app
    yield run
    app.extensions["sealtrail.engine"].dispose()


@pytest.fixture()
def cli_engineer(run_cli, fresh_db, monkeypatch):
    """A process engineer in ``fresh_db`` who signs CLI deployments: ``(username, user id, credentials())``
    where ``credentials()`` gives the two stdin lines (password, current code) on a fresh time-step."""
    from audit.policy import SigningPolicy
    from tests.ops import workload as wl

    clock = wl.Clock()
    monkeypatch.setitem(run_cli.app.extensions, "sealtrail.clock", clock)
    policy = SigningPolicy.from_settings(run_cli.app.extensions["sealtrail.settings"], clock=clock)
    with fresh_db.sessions.begin() as s:
        engineer, secret = wl.create_user(s, "pat.engineer", ["process_engineer"], policy, clock)
        wl.create_user(s, "olga.operator", ["operator"], policy, clock)
        engineer_id = engineer.id

    def credentials() -> str:
        clock.step()
        return f"{wl.PASSWORD}\n{wl.code(secret, clock)}\n"
    return "pat.engineer", engineer_id, credentials
