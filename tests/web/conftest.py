"""Fixtures for the web pages: an app on the shared test database and its test client."""
from __future__ import annotations

import pytest

from web.app import create_app


def make_app(db, **config):
    base = {"TESTING": True, "SESSION_COOKIE_SECURE": False}
    base.update(config)
    app = create_app(base, settings=db.settings())
    return app


@pytest.fixture()
def app(fresh_db):
    app = make_app(fresh_db)
    yield app
    app.extensions["sealtrail.engine"].dispose()


@pytest.fixture()
def client(app):
    return app.test_client()
