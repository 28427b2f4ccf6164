"""Who sees which user task and process instance: the one home of the rule.

The inbox, the task page, the instance pages and the JSON API all ask here, so they cannot drift
apart. A *viewer* is anything with ``id`` (the user's id) and ``roles`` (a set of role names):
an ``engine.users.User`` or the web's signed-in user; ``engine.delegations.acting.viewer_for`` adds
``delegated``, the lanes delegated to the person now (role, process ids). ``None`` stands for an API token that holds
the read scope: a machine client of the whole plant, not a person, so no personal filter applies.

- A task is visible to the user it is claimed by, to the user who completed it, to every
  holder of its lane's role, and to whoever that lane is delegated to (for its processes) (#18). The inbox shows the *open* visible tasks that nobody else claimed.
- An instance is visible to overseers (QA manager, production manager, regulatory, auditor,
  admin), to whoever started it and to anyone who sees one of its tasks.

Indexes ``(state, lane)`` and ``(assignee_id, state)`` serve these filters.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, and_, asc, desc, func, or_, select, true

from engine.errors import Forbidden
from engine.workflows.models import ProcessInstance, WorkflowTask

OVERSEER_ROLES = frozenset({"qa_manager", "production_manager", "regulatory", "auditor", "admin"})
SCOPES = ("all", "mine", "unclaimed")
SORTS = {
    "due": (WorkflowTask.due_at, WorkflowTask.created_at),
    "age": (WorkflowTask.created_at,),
    "process": (WorkflowTask.process_id, WorkflowTask.created_at),
    "key": (WorkflowTask.business_key, WorkflowTask.created_at),
    "title": (WorkflowTask.title, WorkflowTask.created_at),
}


def task_filter(viewer):
    """The SQL condition "``viewer`` may see this task" (true for a read-scoped API token)."""
    if viewer is None:
        return true()
    delegated = [and_(WorkflowTask.lane == role, WorkflowTask.process_id.in_(processes)) if processes
                 else WorkflowTask.lane == role for role, processes in getattr(viewer, "delegated", ())]
    return or_(WorkflowTask.assignee_id == viewer.id, WorkflowTask.completed_by_id == viewer.id,
               WorkflowTask.lane.in_(sorted(viewer.roles)), *delegated)


def can_see_task(viewer, row: WorkflowTask) -> bool:
    """True when ``viewer`` may see the task ``row`` (the same rule as :func:`task_filter`)."""
    if viewer is None:
        return True
    return (row.assignee_id == viewer.id or row.completed_by_id == viewer.id
            or (row.lane is not None and row.lane in viewer.roles)
            or any(row.lane == role and (not processes or row.process_id in processes)
                   for role, processes in getattr(viewer, "delegated", ())))


def check_task_visible(viewer, row: WorkflowTask) -> WorkflowTask:
    """``row`` when ``viewer`` may see it; Forbidden otherwise."""
    if not can_see_task(viewer, row):
        raise Forbidden(f"task {row.id} is not in a lane of your roles")
    return row


def visible_tasks_query(viewer, *, state: str | None = "ready", scope: str = "all", process_id: str | None = None,
                        instance_id: int | None = None, lane: str | None = None, q: str = "",
                        due_before: dt.datetime | None = None, sort: str = "due", direction: str = "asc") -> Select:
    """The ordered SELECT of the tasks ``viewer`` sees, filtered (the inbox pages it in SQL).

    ``scope`` narrows open tasks: ``mine`` (claimed by the viewer), ``unclaimed``, or ``all``
    (both: tasks claimed by someone else are theirs to do and stay out of the list).
    """
    query = select(WorkflowTask).where(task_filter(viewer))
    if state:
        query = query.where(WorkflowTask.state == state)
    if viewer is not None and state == "ready":
        mine = WorkflowTask.assignee_id == viewer.id
        unclaimed = WorkflowTask.assignee_id.is_(None)
        query = query.where({"mine": mine, "unclaimed": unclaimed}.get(scope, or_(mine, unclaimed)))
    if process_id:
        query = query.where(WorkflowTask.process_id == process_id)
    if instance_id is not None:
        query = query.where(WorkflowTask.instance_id == instance_id)
    if lane:
        query = query.where(WorkflowTask.lane == lane)
    if q:
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(func.lower(WorkflowTask.business_key).like(pattern, escape="\\"),
                                func.lower(WorkflowTask.title).like(pattern, escape="\\")))
    if due_before is not None:
        query = query.where(WorkflowTask.due_at < due_before)
    return _ordered(query, sort, direction)


def visible_tasks(session, viewer, *, limit: int = 200, offset: int = 0, **filters) -> list[WorkflowTask]:
    """The tasks ``viewer`` sees (open ones by default: the inbox), as :func:`visible_tasks_query`."""
    return list(session.scalars(visible_tasks_query(viewer, **filters).limit(limit).offset(offset)))


def _ordered(query: Select, sort: str, direction: str) -> Select:
    columns = SORTS.get(sort, SORTS["due"])
    order = desc if direction == "desc" else asc
    first = columns[0]
    # Tasks without a due date go last whichever way due dates are sorted.
    keys = [first.is_(None), order(first)] if sort == "due" else [order(first)]
    return query.order_by(*keys, *[asc(c) for c in columns[1:]], WorkflowTask.id)


def is_overseer(viewer) -> bool:
    """True when ``viewer`` may look at every instance (and every task's history through it)."""
    return viewer is None or bool(OVERSEER_ROLES & set(viewer.roles))


def instance_filter(viewer, username: str | None = None):
    """The SQL condition "``viewer`` may see this instance"; ``username`` also matches the starter
    (instances started through the API record the username)."""
    if is_overseer(viewer):
        return true()
    involved = select(WorkflowTask.instance_id).where(task_filter(viewer))
    starters = [str(viewer.id)] + ([username] if username else [])
    return or_(ProcessInstance.id.in_(involved), ProcessInstance.started_by_id.in_(starters))


def visible_instances_query(viewer, *, username: str | None = None) -> Select:
    """The SELECT of the instances ``viewer`` sees (not ordered, not filtered further)."""
    return select(ProcessInstance).where(instance_filter(viewer, username))


def can_see_instance(session, viewer, instance: ProcessInstance, *, username: str | None = None) -> bool:
    """True when ``viewer`` may see ``instance`` (the same rule as :func:`instance_filter`)."""
    if is_overseer(viewer):
        return True
    query = select(ProcessInstance.id).where(ProcessInstance.id == instance.id, instance_filter(viewer, username))
    return session.scalar(query) is not None
