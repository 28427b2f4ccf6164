"""Editing master-data drafts and proposing them to change control.

A process engineer edits a routing draft (parameter targets, specification and control limits,
units, critical flags), each edit audited with its reason, sees the difference from the released
revision, and proposes one or more drafts: that starts the change-control process with them and
opens its first task (the request, prefilled) to be signed; the impact analysis runs on submit.
Released revisions never change (the engine refuses it).
"""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from engine.db import utcnow
from engine.errors import SealtrailError, ValidationFailed
from engine.masterdata import sampling
from engine.masterdata.models import (
    BomRevision, Document, DocumentRevision, Equipment, OperationParameter, ProductRevision, RoutingRevision, Tooling,
)
from engine.masterdata.models.routings import DOCUMENT_PURPOSES, INSPECTION_KINDS
from engine.masterdata.routings import update_parameter
from engine.processes.diffs import diff_revision
from engine.users import actor_for, duties, get_user
from engine.workflows.instances import open_tasks, start_instance
from web.db import transaction
from web.authz import blueprint_rule
from web.security import role_required

bp = Blueprint("drafts", __name__, url_prefix="/drafts")
blueprint_rule(bp, "masterdata.edit")
EDITORS = duties.EDIT_MASTER_DATA
DRAFT_MODELS = {"product": ProductRevision, "bom": BomRevision, "routing": RoutingRevision,
                "document": DocumentRevision}
KIND_PAGES = {"product": "products", "bom": "boms", "routing": "routings", "document": "documents"}
LIMITS = ("target", "lsl", "usl", "lcl", "ucl")


def open_drafts(s) -> list:
    """Every draft revision, of every kind, by kind and code."""
    out = []
    for model in DRAFT_MODELS.values():
        out += list(s.scalars(select(model).where(model.state == "draft")))
    return sorted(out, key=lambda r: (r.revision_kind, r.master.code))


@bp.get("/")
@role_required(*EDITORS)
def index():
    with transaction() as s:
        drafts = open_drafts(s)
        chosen = set(request.args.getlist("rev"))
        return render_template("drafts/index.html", drafts=drafts, chosen=chosen, pages=KIND_PAGES,
                               diffs={f"{r.revision_kind}:{r.id}": diff_revision(s, r) for r in drafts},
                               active_nav="masterdata")


def routing_draft(s, rev_id: int) -> RoutingRevision:
    rev = s.get(RoutingRevision, rev_id)
    if rev is None:
        abort(404)
    return rev


@bp.get("/routing/<int:rev_id>")
@role_required(*EDITORS)
def routing(rev_id: int):
    with transaction() as s:
        return render_routing(s, routing_draft(s, rev_id), {}, {})


def render_routing(s, rev, values: dict, errors: dict, status: int = 200):
    """The routing draft page; ``values``/``errors`` keyed by parameter id or form key (``op-new``, …)."""
    choices = {"equipment": list(s.scalars(select(Equipment).where(Equipment.status != "obsolete")
                                           .order_by(Equipment.code))),
               "tooling": list(s.scalars(select(Tooling).where(Tooling.status != "obsolete").order_by(Tooling.code))),
               "documents": list(s.scalars(select(Document).order_by(Document.code))),
               "purposes": DOCUMENT_PURPOSES, "kinds": INSPECTION_KINDS, "levels": sampling.levels(),
               "aqls": sampling.tables()["aqls"]}
    return render_template("drafts/routing.html", rev=rev, values=values, errors=errors, limits=LIMITS,
                           diff=diff_revision(s, rev), editable=rev.state == "draft", choices=choices,
                           active_nav="masterdata"), status


def _number(form, name: str, errors: dict):
    text = (form.get(name) or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        errors[name] = _("Enter a number (or leave empty for none).")
        return None
    if value != value or value in (float("inf"), float("-inf")):
        errors[name] = _("Enter a finite number.")
        return None
    return value


@bp.post("/routing/<int:rev_id>/parameters/<int:param_id>")
@role_required(*EDITORS)
def parameter(rev_id: int, param_id: int):
    """Change one parameter's unit, target and limits on the draft (with the reason)."""
    form, errors = request.form, {}
    fields = {name: _number(form, name, errors) for name in LIMITS}
    fields["unit"] = (form.get("unit") or "").strip()
    fields["critical"] = form.get("critical") == "on"
    reason = (form.get("reason") or "").strip()
    if not reason:
        errors["reason"] = _("Give the reason for the change.")
    name = None
    try:
        with transaction() as s:
            rev = routing_draft(s, rev_id)
            param = s.get(OperationParameter, param_id)
            if param is None or param.operation.routing_revision_id != rev.id:
                abort(404)
            name = param.name
            if errors:
                raise ValidationFailed("; ".join(errors.values()))
            update_parameter(s, actor_for(get_user(s, current_user.id)), param, reason=reason, **fields)
    except ValidationFailed as exc:  # nothing was written: show the page again with the entries
        if not errors:
            errors[exc.field or "unit"] = exc.message
        with transaction() as s:
            return render_routing(s, routing_draft(s, rev_id), {param_id: dict(request.form)},
                                   {param_id: errors}, 422)
    flash(_("Parameter %(name)s changed on the draft.", name=name), "success")
    return redirect(url_for("drafts.routing", rev_id=rev_id, _anchor=f"param-{param_id}"))


@bp.post("/propose")
@role_required(*EDITORS)
def propose():
    """Start change control with the chosen drafts; the engineer reviews and signs the request."""
    chosen = request.form.getlist("rev")
    title = (request.form.get("title") or "").strip()
    if not chosen or not title:
        flash(_("Choose at least one draft and give the change a title."), "error")
        return redirect(url_for("drafts.index", rev=chosen))
    try:
        with transaction() as s:
            user = get_user(s, current_user.id)
            revs = [_chosen(s, value) for value in chosen]
            changes = [c["change"] for r in revs for c in diff_revision(s, r)]
            data = {"change_title": title[:200], "change_description": "\n".join(changes)[:4000] or title,
                    "change_reason": (request.form.get("reason") or "").strip()[:4000],
                    "change_urgency": "routine", "change_action": "submit", "change_comment": "",
                    "changed_revisions": [{"kind": r.revision_kind, "code": r.master.code, "label": r.label}
                                          for r in revs],
                    "changed_objects": [], "effective_from": (utcnow().date() + timedelta(days=7)).isoformat()}
            instance = start_instance(s, actor_for(user), "change_control", data=data, user=user)
            task = next(t for t in open_tasks(s, instance.id) if t.spec_name == "submit_change")
            task_id = task.id
    except SealtrailError as exc:
        flash(exc.message, "error")
        return redirect(url_for("drafts.index", rev=chosen))
    flash(_("Change request started. Check it and sign to submit it: the impact analysis runs then."), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


def _chosen(s, value: str):
    kind, _sep, ident = value.partition(":")
    model = DRAFT_MODELS.get(kind)
    rev = s.get(model, int(ident)) if model is not None and ident.isdigit() else None
    if rev is None or rev.state != "draft":
        raise ValidationFailed(_("%(what)s is not an open draft.", what=value), field="rev")
    return rev
