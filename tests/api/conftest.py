"""API fixtures: one app on a database of its own for the API tests (they use unique ids), tokens."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from audit import Actor
from engine.access import tokens

ADMIN = Actor(kind="user", id="admin", name="Ada Admin")


@pytest.fixture(scope="session")
def api_db(db_server, template_db):
    name = f"{db_server.prefix}_api_{uuid.uuid4().hex[:8]}"
    db = db_server.clone_database(template_db, name)
    yield db
    db.dispose()
    db_server.drop(name)


@pytest.fixture(scope="session")
def app(api_db):
    from web.app import create_app

    app = create_app({"TESTING": True}, settings=api_db.settings())
    yield app
    app.extensions["sealtrail.engine"].dispose()


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def make_token(api_db):
    def make(*scopes: str, name: str = "test client") -> str:
        with api_db.sessions.begin() as session:
            return tokens.create_token(session, ADMIN, name=name, scopes=list(scopes) or list(tokens.SCOPES)).secret
    return make


@pytest.fixture(scope="session")
def full_token(make_token):
    return make_token(*tokens.SCOPES, name="all scopes")


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def alarm_body(**overrides) -> dict:
    body = {
        "source": {"line": "L1", "equipment": "SEALER-01"},
        "code": "TEMP_HIGH",
        "severity": 500,
        "occurred_at": datetime(2026, 11, 26, 8, 0, tzinfo=UTC).isoformat(),
        "message": "seal bar above 185 °C",
    }
    body.update(overrides)
    return body
