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


def transaction():
    """A new session in its own transaction: ``with transaction() as s:`` (commit on success).

    Views use one of these per unit of work (reads included) and render inside the block;
    the request session of :func:`db_session` is left without an open transaction so that on
    SQLite (``BEGIN IMMEDIATE``) it never holds the write lock while another unit of work runs.
    """
    return current_app.extensions["sealtrail.sessions"].begin()


def sessions():
    """The session factory (for ``audit.lockout.signing_transaction(sessions(), policy)``)."""
    return current_app.extensions["sealtrail.sessions"]
