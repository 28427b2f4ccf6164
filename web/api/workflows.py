"""Process instances, their tasks, and messages to waiting instances."""
from __future__ import annotations

from datetime import datetime

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from engine.access.tokens import READ, WORKFLOWS_START
from engine.errors import Forbidden
from engine.users.accounts import get_user
from engine.workflows import queries
from engine.workflows.events import send_message
from engine.workflows.instances import get_instance, open_tasks, start_instance
from engine.workflows.tasks import get_task
from engine.workflows.visibility import can_see_instance, check_task_visible, visible_tasks
from web.api.auth import current_client
from web.api.common import SECURITY, json_response, scope
from web.authz import rule
from web.db import transaction
from web.viewer import current_viewer

TAG = Tag(name="workflows", description="BPMN process instances, user tasks, messages")
NAME = r"^[A-Za-z_][A-Za-z0-9_.\-]*$"
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    process_id: str = Field(min_length=1, max_length=200, pattern=NAME, examples=["deviation"])
    business_key: str | None = Field(None, min_length=1, max_length=120, pattern=PRINTABLE)
    data: dict = Field(default_factory=dict, description="Start data (JSON object).")


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=NAME, examples=["lab_result"])
    payload: dict = Field(default_factory=dict)


class KeyedMessageIn(MessageIn):
    business_key: str = Field(min_length=1, max_length=120, pattern=PRINTABLE,
                              description="Deliver to the instances with this business key that wait for it.")


class InstanceQuery(BaseModel):
    process_id: str | None = Field(None, max_length=200)
    status: str | None = Field(None, pattern="^(running|waiting|completed|error|cancelled)$")
    business_key: str | None = Field(None, max_length=120)
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10**9)


class TaskQuery(BaseModel):
    state: str | None = Field("ready", pattern="^(ready|completed|cancelled)$")
    process_id: str | None = Field(None, max_length=200)
    instance_id: int | None = Field(None, ge=1, le=2**31 - 1)
    lane: str | None = Field(None, max_length=32)
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10**9)


class InstancePath(BaseModel):
    instance_id: int = Field(ge=1, le=2**31 - 1)


class TaskPath(BaseModel):
    task_id: str = Field(min_length=1, max_length=36)


class TaskOut(BaseModel):
    task_id: str
    instance_id: int
    process_id: str
    name: str
    title: str
    lane: str | None
    form: str | None
    state: str
    business_key: str | None
    created_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None


class InstanceOut(BaseModel):
    instance_id: int
    process_id: str
    business_key: str | None
    status: str
    started_at: datetime
    started_by: str
    updated_at: datetime
    completed_at: datetime | None
    waiting_for_messages: list[str] = []
    open_tasks: list[TaskOut] = []


class InstanceList(BaseModel):
    instances: list[InstanceOut]


class TaskList(BaseModel):
    tasks: list[TaskOut]


def _task(t) -> dict:
    return {"task_id": t.id, "instance_id": t.instance_id, "process_id": t.process_id, "name": t.spec_name,
            "title": t.title, "lane": t.lane, "form": t.form, "state": t.state, "business_key": t.business_key,
            "created_at": _iso(t.created_at), "due_at": _iso(t.due_at), "completed_at": _iso(t.completed_at),
            "completed_by": t.completed_by_name}


def _instance(session, i, *, detail: bool = False) -> dict:
    out = {"instance_id": i.id, "process_id": i.process_id, "business_key": i.business_key, "status": i.status,
           "started_at": _iso(i.started_at), "started_by": i.started_by_name, "updated_at": _iso(i.updated_at),
           "completed_at": _iso(i.completed_at)}
    if detail:
        out["waiting_for_messages"] = queries.waiting_for(session, i.id)
        out["open_tasks"] = [_task(t) for t in open_tasks(session, i.id)]
    return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _viewer(session):
    """Whose visibility applies: the signed-in user with the lanes delegated to them now, or None
    for an API token (read scope: all)."""
    client = current_client()
    return current_viewer(session, client.user) if client.via == "session" else None


def _username() -> str | None:
    client = current_client()
    return client.user.username if client.via == "session" else None


def _session_user(session, client):
    if client.via != "session":
        return None

    return get_user(session, int(client.user.id))


def routes(api: APIBlueprint) -> None:
    @api.post("/instances", tags=[TAG], security=SECURITY, responses={201: InstanceOut},
              summary="Start a process instance (latest deployed version)",
              description="Needs `workflows:start`; a signed-in user must also hold the start lane's role.")
    @scope(WORKFLOWS_START)
    @rule("api.scoped")
    def post_instance(body: StartIn):
        client = current_client()
        with transaction() as session:
            instance = start_instance(session, client.actor, body.process_id, data=body.data,
                                      business_key=body.business_key, user=_session_user(session, client))
            answer = _instance(session, instance, detail=True)
        return json_response(answer, 201)

    @api.get("/instances", tags=[TAG], security=SECURITY, responses={200: InstanceList},
             summary="List process instances, newest first")
    @scope(READ)
    @rule("processes")
    def get_instances(query: InstanceQuery):
        with transaction() as session:
            rows = queries.list_instances(session, _viewer(session), username=_username(), **query.model_dump())
            answer = {"instances": [_instance(session, i) for i in rows]}
        return json_response(answer)

    @api.get("/instances/<int:instance_id>", tags=[TAG], security=SECURITY, responses={200: InstanceOut},
             summary="One instance with its open tasks and awaited messages")
    @scope(READ)
    @rule("processes")
    def get_one_instance(path: InstancePath):
        with transaction() as session:
            instance = get_instance(session, path.instance_id)
            if not can_see_instance(session, _viewer(session), instance, username=_username()):
                raise Forbidden(f"instance {instance.id} is not one you took part in or oversee")
            answer = _instance(session, instance, detail=True)
        return json_response(answer)

    @api.get("/tasks", tags=[TAG], security=SECURITY, responses={200: TaskList}, summary="List user tasks")
    @scope(READ)
    @rule("processes")
    def get_tasks(query: TaskQuery):
        with transaction() as session:
            tasks = visible_tasks(session, _viewer(session), sort="age", **query.model_dump())
            answer = {"tasks": [_task(t) for t in tasks]}
        return json_response(answer)

    @api.get("/tasks/<task_id>", tags=[TAG], security=SECURITY, responses={200: TaskOut}, summary="One user task")
    @scope(READ)
    @rule("processes")
    def get_one_task(path: TaskPath):
        with transaction() as session:
            answer = _task(check_task_visible(_viewer(session), get_task(session, path.task_id)))
        return json_response(answer)

    @api.post("/messages", tags=[TAG], security=SECURITY, responses={200: InstanceList},
              summary="Send a message to the instances with a business key that wait for it",
              description="E.g. a LIMS result for a lot's release. 404 when none waits. Needs `workflows:start`.")
    @scope(WORKFLOWS_START)
    @rule("api.scoped")
    def post_message(body: KeyedMessageIn):
        return _deliver(body, business_key=body.business_key)

    @api.post("/instances/<int:instance_id>/messages", tags=[TAG], security=SECURITY,
              responses={200: InstanceList}, summary="Send a message to one waiting instance",
              description="404 when the instance does not wait for it. Needs `workflows:start`.")
    @scope(WORKFLOWS_START)
    @rule("api.scoped")
    def post_instance_message(path: InstancePath, body: MessageIn):
        return _deliver(body, instance_id=path.instance_id)


def _deliver(body: MessageIn, **target):
    client = current_client()
    with transaction() as session:
        targets = send_message(session, client.actor, body.name, body.payload, **target)
        answer = {"instances": [_instance(session, i, detail=True) for i in targets]}
    return json_response(answer)
