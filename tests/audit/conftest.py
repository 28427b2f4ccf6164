"""Audit fixtures: signing users (Alice signs, Bob administers, Carol is disabled), a clock."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from audit.policy import SigningPolicy
from tests.audit.signing_helpers import _HASH, Clock, User


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
