"""Audit fixtures: signing users (Alice signs, Bob administers, Carol is disabled), a clock."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyotp
import pytest
from cryptography.fernet import Fernet

from audit import Actor
from audit.enrollment import begin_enrollment, confirm_enrollment
from audit.passwords import hash_password
from audit.policy import SigningPolicy

PASSWORD = "Correct-Horse-42"
_HASH = hash_password(PASSWORD)


@dataclass
class User:
    id: int
    username: str
    printed_name: str
    password_hash: str
    active: bool = True

    @property
    def actor(self) -> Actor:
        return Actor("user", str(self.id), self.printed_name)


class Clock:
    """A controllable UTC clock for the signing policy."""

    def __init__(self):
        self.now = dt.datetime(2026, 11, 26, 9, 0, 0, tzinfo=dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture()
def clock():
    return Clock()


@pytest.fixture()
def alerts():
    return []


@pytest.fixture()
def policy(clock, alerts):
    return SigningPolicy(totp_key=Fernet.generate_key(), clock=clock, on_alert=alerts.append,
                         idle_seconds=600, lockout_failures=5, lockout_seconds=900)


@pytest.fixture()
def alice():
    return User(101, "alice", "Alice Initiator", _HASH)


@pytest.fixture()
def bob():
    return User(102, "bob", "Bob Admin", _HASH)


@pytest.fixture()
def carol():
    return User(103, "carol", "Carol Leaver", _HASH, active=False)


def code_at(secret: str, clock: Clock, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.now, counter_offset=offset_steps)


def enroll(session, user, policy, clock) -> str:
    """Enroll and confirm ``user``; returns the secret. Advances the clock one step."""
    enrollment = begin_enrollment(session, user, policy=policy)
    confirm_enrollment(session, user, enrollment.credential_id, password=PASSWORD,
                       code=code_at(enrollment.secret, clock), policy=policy)
    clock.advance(30)
    return enrollment.secret
