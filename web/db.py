"""The units of work of web/ (views, the CLI, the worker): ``with transaction() as s:`` for a
page, ``with signing_transaction(sessions(), policy) as s:`` for a signature. engine/ and audit/
flush; only these open and commit transactions."""
from __future__ import annotations

import contextlib

from flask import current_app

from audit.errors import SignatureError, SigningLocked
from audit.lockout import locked_account, record_failed_attempt
from audit.policy import SigningPolicy
from engine.notifications import outbox


def settings():
    """The Sealtrail settings of the running app."""
    return current_app.extensions["sealtrail.settings"]


def transaction():
    """A new session in its own transaction: ``with transaction() as s:`` (commit on success).

    The one session idiom of web/: views, API routes and the sign-in loader use one of these per
    unit of work (reads included) and render inside the block. No session outlives its block, so
    on SQLite (``BEGIN IMMEDIATE``) nothing holds the write lock while the page is sent.
    """
    return current_app.extensions["sealtrail.sessions"].begin()


def sessions():
    """The session factory (for :func:`signing_transaction` and commands that own their loops)."""
    return current_app.extensions["sealtrail.sessions"]


@contextlib.contextmanager
def signing_transaction(sessions, policy: SigningPolicy):
    """``sessions.begin()`` that records a refused signature in a new transaction afterwards.

    On a :class:`SignatureError` the work rolls back; its failure is then counted and audited
    in its own transaction. If that failure locked the user out, :class:`SigningLocked` is
    raised (chained to the original error), otherwise the original error.
    """
    try:
        with sessions.begin() as session:
            yield session
    except SignatureError as exc:
        failure = getattr(exc, "failure", None)
        if failure is None:
            raise
        with sessions.begin() as session:
            alert = record_failed_attempt(session, failure, policy)
            until = None if alert is None else locked_account(session, failure.user_id).locked_until
            if until is not None and str(failure.user_id).isdigit():  # told in the lock's transaction
                outbox.signing_locked(session, int(failure.user_id))
        if until is not None:
            raise SigningLocked(until) from exc
        raise
