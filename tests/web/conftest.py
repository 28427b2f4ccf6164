"""Fixtures for the web pages: an app on a fresh database, its client, and signed-in personas.

Personas (healthchecks' habit of named people with written roles):
- ``qa`` — Quinn QA, qa_manager: approves changes, reads the audit trail.
- ``pe`` — Pat Engineer, process_engineer: edits and deploys BPMN.
- ``op`` — Olly Operator, operator: an outsider to QA tasks and the audit trail.
- ``auditor`` — Ada Auditor, auditor: read-only everywhere.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import pyotp
import pytest

from web.app import create_app

PASSWORD = "correct-horse-battery-7"
TOTP_STEP = 30


def make_app(db, **config):
    base = {"TESTING": True, "SESSION_COOKIE_SECURE": False}
    base.update(config)
    return create_app(base, settings=db.settings())


@pytest.fixture()
def app(fresh_db):
    app = make_app(fresh_db)
    yield app
    app.extensions["sealtrail.engine"].dispose()


@pytest.fixture()
def client(app):
    return app.test_client()


@dataclass
class Persona:
    """A user the tests act as; ``code()`` gives the next TOTP code the server will accept."""

    id: int
    username: str
    printed_name: str
    roles: tuple[str, ...]
    password: str = PASSWORD
    secret: str | None = None
    used: set[int] = field(default_factory=set)

    def code(self) -> str:
        """A code for a time-step not used yet (the server accepts ±1 step, each only once)."""
        totp = pyotp.TOTP(self.secret)
        while True:
            now = int(time.time()) // TOTP_STEP
            for step in (now - 1, now, now + 1):
                if step not in self.used and (not self.used or step > max(self.used)):
                    self.used.add(step)
                    return totp.at(step * TOTP_STEP)
            time.sleep(1)


PERSONAS = {
    "qa": ("quinn.qa", "Quinn QA", ("qa_manager",)),
    "pe": ("pat.engineer", "Pat Engineer", ("process_engineer",)),
    "op": ("olly.operator", "Olly Operator", ("operator",)),
    "auditor": ("ada.auditor", "Ada Auditor", ("auditor",)),
    "admin": ("alex.admin", "Alex Admin", ("admin",)),
    "qe": ("quinn.engineer", "Quinn Engineer", ("qa_engineer",)),
}


def make_persona(db, key: str, *, enrolled: bool = True, must_change_password: bool = False) -> Persona:
    """Create the persona's user (and confirm an authenticator unless ``enrolled=False``)."""
    from audit import SYSTEM
    from audit.enrollment import begin_enrollment, confirm_enrollment
    from audit.policy import SigningPolicy
    from engine.users import create_user

    username, printed_name, roles = PERSONAS[key]
    policy = SigningPolicy.from_settings(db.settings())
    with db.sessions.begin() as s:
        user = create_user(s, SYSTEM, username=username, printed_name=printed_name, password=PASSWORD,
                           roles=roles, locale="en", timezone="UTC", must_change_password=must_change_password)
        persona = Persona(user.id, username, printed_name, roles)
        if enrolled:
            enrollment = begin_enrollment(s, user, policy=policy)
            persona.secret = enrollment.secret
            confirm_enrollment(s, user, enrollment.credential_id, password=PASSWORD, code=persona.code(),
                               policy=policy)
    return persona


@pytest.fixture()
def personas(fresh_db):
    """A factory: ``personas("qa")`` creates (once) and returns that persona."""
    made: dict[str, Persona] = {}

    def get(key: str, **kwargs) -> Persona:
        if key not in made:
            made[key] = make_persona(fresh_db, key, **kwargs)
        return made[key]

    return get


def csrf_token(client, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client, persona: Persona, password: str | None = None):
    token = csrf_token(client)
    return client.post("/login", data={"username": persona.username, "password": password or persona.password,
                                       "csrf_token": token})


@pytest.fixture()
def login(client):
    """``login(persona)`` signs the test client in as ``persona``."""

    def do(persona: Persona):
        response = sign_in(client, persona)
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        return client

    return do


BPMN_DIR = __import__("pathlib").Path(__file__).resolve().parent / "bpmn"


def deploy_test_process(db, comment: str = "web tests"):
    """Deploy tests/web/bpmn/web_change.bpmn (start → script → QA approval → end)."""
    from audit import SYSTEM
    from engine.workflows import Document, deploy

    with db.sessions.begin() as s:
        deploy(s, SYSTEM, [Document("web_change.bpmn", (BPMN_DIR / "web_change.bpmn").read_bytes())],
               comment=comment)


def start_change(db, persona: Persona, title: str = "Raise torque", key: str = "CC-2026-0001") -> int:
    """Start a web_change instance as ``persona``; it waits at the QA approval. Returns its id."""
    from engine.users import get_user
    from engine.workflows.instances import actor_of, start_instance

    with db.sessions.begin() as s:
        user = get_user(s, persona.id)
        instance = start_instance(s, actor_of(user), "web_change", data={"change_title": title},
                                  business_key=key, user=user)
        return instance.id


def open_task_id(db, instance_id: int) -> str:
    from engine.workflows.instances import open_tasks

    with db.sessions() as s:
        return open_tasks(s, instance_id)[0].id
