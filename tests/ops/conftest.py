"""Fixtures for the operations tests: an app over a database of its own."""
from __future__ import annotations

import pytest

from web.app import create_app


def make_app(db_url: str, tmp_path=None, **settings_overrides):
    """A Sealtrail app (testing mode) over ``db_url``."""
    from engine.config import load_settings

    settings = load_settings(database_url=db_url, **settings_overrides)
    return create_app({"TESTING": True}, settings=settings)


@pytest.fixture()
def ops_app(fresh_db):
    app = make_app(fresh_db.url)
    yield app
    app.extensions["sealtrail.engine"].dispose()
