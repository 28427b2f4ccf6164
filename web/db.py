"""One database session per request; the view that writes owns ``with session.begin():``."""
from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session


def db_session() -> Session:
    """The request's session, created on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["sealtrail.sessions"]()
    return g.db_session


def settings():
    """The Sealtrail settings of the running app."""
    return current_app.extensions["sealtrail.settings"]
