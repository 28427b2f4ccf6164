"""Helpers for the audit tests: a user stand-in, a controllable clock, enrollment."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyotp

from audit import Actor
from audit.enrollment import begin_enrollment, confirm_enrollment
from audit.passwords import hash_password

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


def code_at(secret: str, clock: Clock, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.now, counter_offset=offset_steps)


def enroll(session, user, policy, clock) -> str:
    """Enroll and confirm ``user``; returns the secret. Advances the clock one step."""
    enrollment = begin_enrollment(session, user, policy=policy)
    confirm_enrollment(session, user, enrollment.credential_id, password=PASSWORD,
                       code=code_at(enrollment.secret, clock), policy=policy)
    clock.advance(30)
    return enrollment.secret
