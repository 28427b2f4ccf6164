"""Fixtures for the operations tests: an app over a database of its own."""
from __future__ import annotations

import pytest

from web.app import create_app


def make_app(db_url: str, tmp_path=None, **settings_overrides):
    """A Sealtrail app (testing mode) over ``db_url``."""
    from engine.config import load_settings

    settings = load_settings(database_url=db_url, **settings_overrides)
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}, settings=settings)


@pytest.fixture()
def ops_app(fresh_db):
    app = make_app(fresh_db.url)
    yield app
    app.extensions["sealtrail.engine"].dispose()


@pytest.fixture(scope="module")
def private_pg():
    """A PostgreSQL server of this test module's own, which tests may stop and start."""
    from tests.ops.pgcluster import PrivatePostgres

    reason = PrivatePostgres.available()
    if reason:
        pytest.skip(f"no private PostgreSQL server: {reason}")
    server = PrivatePostgres()
    try:
        server.init()
    except Exception as exc:  # noqa: BLE001 - an environment that cannot run one skips cleanly
        server.destroy()
        pytest.skip(f"could not start a private PostgreSQL server: {exc}")
    yield server
    server.destroy()
