"""The task inbox: my claimed tasks and my roles' unclaimed tasks, filtered, sorted, paged in SQL.

Visibility matches what ``engine.workflows.tasks`` lets a user complete: open tasks in the lanes
of the user's roles, unclaimed or claimed by them. Indexes ``(state, lane)`` and
``(assignee_id, state)`` serve these filters; COUNT + LIMIT/OFFSET keep a page fast with
10,000 open tasks.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_, asc, desc, func, or_, select

from engine.users import get_user
from engine.workflows import tasks as wf_tasks
from engine.workflows.models import WorkflowTask
from web.auth import safe_next
from web.db import transaction
from web.pagination import page_number, paginate

bp = Blueprint("inbox", __name__, url_prefix="/inbox")

SORTS = {
    "due": (WorkflowTask.due_at, WorkflowTask.created_at),
    "age": (WorkflowTask.created_at,),
    "process": (WorkflowTask.process_id, WorkflowTask.created_at),
    "key": (WorkflowTask.business_key, WorkflowTask.created_at),
    "title": (WorkflowTask.title, WorkflowTask.created_at),
}
SCOPES = ("all", "mine", "unclaimed")


def inbox_query(user_id: int, roles, *, scope: str = "all", process: str = "", q: str = "",
                overdue: bool = False, now: dt.datetime | None = None):
    """The SELECT of the inbox rows the user may work on (not yet ordered)."""
    roles = sorted(roles)
    mine = WorkflowTask.assignee_id == user_id
    unclaimed = and_(WorkflowTask.assignee_id.is_(None), WorkflowTask.lane.in_(roles))
    where = {"mine": mine, "unclaimed": unclaimed}.get(scope, or_(mine, unclaimed))
    query = select(WorkflowTask).where(WorkflowTask.state == "ready", WorkflowTask.lane.in_(roles), where)
    if process:
        query = query.where(WorkflowTask.process_id == process)
    if q:
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(func.lower(WorkflowTask.business_key).like(pattern, escape="\\"),
                                func.lower(WorkflowTask.title).like(pattern, escape="\\")))
    if overdue:
        query = query.where(WorkflowTask.due_at < (now or dt.datetime.now(dt.timezone.utc)))
    return query


def _ordered(query, sort: str, direction: str):
    columns = SORTS.get(sort, SORTS["due"])
    order = desc if direction == "desc" else asc
    first = columns[0]
    # Tasks without a due date go last whichever way due dates are sorted.
    keys = [first.is_(None), order(first)] if sort == "due" else [order(first)]
    return query.order_by(*keys, *[asc(c) for c in columns[1:]], WorkflowTask.id)


@bp.get("/")
def index():
    args = {
        "scope": request.args.get("scope") if request.args.get("scope") in SCOPES else "all",
        "process": (request.args.get("process") or "").strip()[:200],
        "q": (request.args.get("q") or "").strip()[:120],
        "overdue": "1" if request.args.get("overdue") else "",
        "sort": request.args.get("sort") if request.args.get("sort") in SORTS else "due",
        "dir": "desc" if request.args.get("dir") == "desc" else "asc",
    }
    now = dt.datetime.now(dt.timezone.utc)
    query = inbox_query(current_user.id, current_user.role_names, scope=args["scope"], process=args["process"],
                        q=args["q"], overdue=bool(args["overdue"]), now=now)
    with transaction() as s:
        page = paginate(s, _ordered(query, args["sort"], args["dir"]), page_number(request.args.get("page")))
        processes = sorted(s.scalars(select(WorkflowTask.process_id).where(
            WorkflowTask.state == "ready", WorkflowTask.lane.in_(sorted(current_user.role_names))).distinct()))
        return render_template("inbox/index.html", page=page, args=args, processes=processes, now=now,
                               active_nav="inbox")


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
