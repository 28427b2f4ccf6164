"""Process instances: list and detail with the diagram (bpmn-js viewer), the path taken
highlighted, and every completed task with signer, meaning, time and data."""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select
from SpiffWorkflow.util.task import TaskState

from audit import SYSTEM
from engine.db import utcnow
from engine.workflows import lead_times, runtime, visibility
from engine.workflows.instances import get_instance, instance_history, open_tasks
from engine.workflows.models import ProcessInstance, ProcessVersion
from web import diagram_labels
from web.authz import blueprint_rule
from web.db import transaction
from web.pagination import page_number, paginate
from web.viewer import current_viewer

bp = Blueprint("instances", __name__, url_prefix="/processes")
blueprint_rule(bp, "processes")

STATUSES = ("running", "waiting", "completed", "error", "cancelled")


def can_see(s, instance: ProcessInstance) -> bool:
    return visibility.can_see_instance(s, current_viewer(s), instance, username=current_user.username)


@bp.get("/")
def index():
    args = {"process": (request.args.get("process") or "").strip()[:200],
            "status": request.args.get("status") if request.args.get("status") in STATUSES else "",
            "q": (request.args.get("q") or "").strip()[:120]}
    with transaction() as s:
        query = visibility.visible_instances_query(current_viewer(s), username=current_user.username)
    if args["process"]:
        query = query.where(ProcessInstance.process_id == args["process"])
    if args["status"]:
        query = query.where(ProcessInstance.status == args["status"])
    if args["q"]:
        query = query.where(ProcessInstance.business_key.ilike(f"%{args['q']}%"))
    with transaction() as s:
        page = paginate(s, query.order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc()),
                        page_number(request.args.get("page")))
        processes = sorted(s.scalars(select(ProcessVersion.process_id).distinct()))
        return render_template("instances/index.html", page=page, args=args, processes=processes,
                               statuses=STATUSES, active_nav="instances")


def path_taken(s, instance: ProcessInstance) -> dict[str, list[str]]:
    """BPMN element ids done and active (for the viewer's highlighting)."""
    workflow = runtime.load(s, instance, SYSTEM)
    done, active = set(), set()
    for task in workflow.get_tasks():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        if task.has_state(TaskState.COMPLETED):
            done.add(bpmn_id)
        elif task.has_state(TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR):
            active.add(bpmn_id)
    return {"st-done": sorted(done - active), "st-active": sorted(active)}


@bp.get("/<int:instance_id>")
def show(instance_id: int):
    with transaction() as s:
        instance = get_instance(s, instance_id)
        if not can_see(s, instance):
            abort(403)
        version = s.get(ProcessVersion, instance.process_version_id)
        likely = lead_times.likely_completion(s, instance, utcnow())
        return render_template("instances/show.html", instance=instance, version=version, likely=likely,
                               markers=path_taken(s, instance), history=instance_history(s, instance.id),
                               open=open_tasks(s, instance.id), active_nav="instances")


@bp.get("/<int:instance_id>/diagram.bpmn")
def diagram(instance_id: int):
    """The BPMN of the version this instance runs on (for the viewer)."""
    with transaction() as s:
        instance = get_instance(s, instance_id)
        if not can_see(s, instance):
            abort(403)
        xml = s.get(ProcessVersion, instance.process_version_id).bpmn_xml
    return Response(diagram_labels.for_viewer(xml), mimetype="application/xml")
