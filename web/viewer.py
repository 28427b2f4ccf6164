"""The signed-in person as the visibility rule sees them: their roles and the lanes delegated to
them now (engine.delegations.acting.viewer_for), for the inbox, the task and instance pages and
the API."""
from __future__ import annotations

import datetime as dt

from flask_login import current_user

from engine.delegations.acting import Viewer, viewer_for


def current_viewer(session, user=None) -> Viewer:
    """``user`` (default: the signed-in user) with the delegations running now."""
    return viewer_for(session, user if user is not None else current_user, dt.datetime.now(dt.timezone.utc))
