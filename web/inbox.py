"""The task inbox: my claimed tasks and my roles' unclaimed tasks, filtered, sorted, paged in SQL.

Which tasks a user sees is ``engine.workflows.visibility``'s rule (the task page and the API ask
it too); this page only parses the filters and pages the query. COUNT + LIMIT/OFFSET keep a page
fast with 10,000 open tasks.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from engine.users import get_user
from engine.workflows import tasks as wf_tasks
from engine.workflows import visibility
from engine.workflows.lead_times import task_lead_times
from engine.workflows.models import WorkflowTask
from web.auth import safe_next
from web.authz import blueprint_rule
from web.db import transaction
from web.pagination import page_number, paginate
from web.viewer import current_viewer

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
blueprint_rule(bp, "processes")


@bp.get("/")
def index():
    args = {
        "scope": request.args.get("scope") if request.args.get("scope") in visibility.SCOPES else "all",
        "process": (request.args.get("process") or "").strip()[:200],
        "q": (request.args.get("q") or "").strip()[:120],
        "overdue": "1" if request.args.get("overdue") else "",
        "sort": request.args.get("sort") if request.args.get("sort") in visibility.SORTS else "due",
        "dir": "desc" if request.args.get("dir") == "desc" else "asc",
    }
    now = dt.datetime.now(dt.timezone.utc)
    with transaction() as s:
        viewer = current_viewer(s)
        query = visibility.visible_tasks_query(viewer, scope=args["scope"], process_id=args["process"],
                                               q=args["q"], due_before=now if args["overdue"] else None,
                                               sort=args["sort"], direction=args["dir"])
        page = paginate(s, query, page_number(request.args.get("page")))
        processes = sorted(s.scalars(select(WorkflowTask.process_id).where(
            WorkflowTask.state == "ready", visibility.task_filter(viewer)).distinct()))
        return render_template("inbox/index.html", page=page, args=args, processes=processes, now=now,
                               lead=task_lead_times(s), active_nav="inbox")


def _claim_action(action: str, task_id: str):
    with transaction() as s:
        user = get_user(s, current_user.id)
        if action == "claim":
            wf_tasks.claim(s, user=user, task_id=task_id)
        else:
            wf_tasks.unclaim(s, user=user, task_id=task_id)
    flash(_("Task claimed: it is now in your name.") if action == "claim"
          else _("Task released: anyone with the role may take it."), "success")
    return redirect(safe_next(request.form.get("next")) or url_for("inbox.index"))


@bp.post("/<task_id>/claim")
def claim(task_id: str):
    return _claim_action("claim", task_id)


@bp.post("/<task_id>/unclaim")
def unclaim(task_id: str):
    return _claim_action("unclaim", task_id)
