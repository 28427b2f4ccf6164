"""Routing drafts beyond parameter limits: add and remove operations, set an operation's equipment,
tooling and SOP links, add process parameters and inspection items (fixed sample size, accept
number, or an ISO 2859-1 level and AQL), and set an attribute inspection's ISO 2859-1 sampling (level,
AQL, the approval of reduced inspection). Each form calls one engine use case of ``engine.masterdata.routings`` with the reason;
a refusal is shown beside its form with the entries kept (web/drafts.py renders the page).
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from engine.errors import SealtrailError
from engine.masterdata import routings, sampling
from engine.masterdata.models import Document, Equipment, Tooling
from engine.masterdata.models.routings import DOCUMENT_PURPOSES, INSPECTION_KINDS
from engine.users import actor_for, duties, get_user
from web.authz import blueprint_rule
from web.db import transaction
from web.draft_edits import FormErrors, form_number, form_reason, form_text
from web.drafts import render_routing, routing_draft
from web.security import role_required

bp = Blueprint("routingedit", __name__, url_prefix="/drafts/routing")
blueprint_rule(bp, "masterdata.edit")
EDITORS = duties.EDIT_MASTER_DATA


def _run(rev_id: int, key: str, apply, anchor: str):
    """``apply(s, actor, rev, errors)`` in one unit of work; a refusal re-renders the page at the form."""
    errors = FormErrors()
    try:
        with transaction() as s:
            apply(s, actor_for(get_user(s, current_user.id)), routing_draft(s, rev_id), errors)
    except SealtrailError as exc:
        shown = dict(errors) or {exc.field or "reason": exc.message}
        with transaction() as s:
            return render_routing(s, routing_draft(s, rev_id), {key: request.form.copy()}, {key: shown},
                                   exc.status)
    flash(_("Saved to the draft."), "success")
    return redirect(url_for("drafts.routing", rev_id=rev_id, _anchor=anchor))


def _operation(rev, op_id: int):
    op = next((o for o in rev.operations if o.id == op_id), None)
    if op is None:
        abort(404)
    return op


@bp.post("/<int:rev_id>/operations")
@role_required(*EDITORS)
def add_operation(rev_id: int):
    def apply(s, actor, rev, errors):
        form = request.form
        sequence = form_number(form, "sequence", errors, integer=True, required=True)
        fields = {name: form_text(form, name, errors, required=name in ("code", "name"))
                  for name in ("code", "name", "work_centre")}
        setup = form_number(form, "setup_minutes", errors) or 0.0
        run = form_number(form, "run_minutes_per_unit", errors) or 0.0
        errors.check()
        routings.add_operation(s, actor, rev, sequence=sequence, qc_point=form.get("qc_point") == "on",
                               setup_minutes=setup, run_minutes_per_unit=run, **fields)
    return _run(rev_id, "op-new", apply, "op-new")


def _chosen(s, model, codes: list[str], field: str, errors: FormErrors) -> list:
    found = list(s.scalars(select(model).where(model.code.in_(codes)))) if codes else []
    if len(found) != len(set(codes)):
        errors[field] = _("Choose from the list.")
    return found


@bp.post("/<int:rev_id>/operations/<int:op_id>/resources")
@role_required(*EDITORS)
def resources(rev_id: int, op_id: int):
    def apply(s, actor, rev, errors):
        form, op = request.form, _operation(rev, op_id)
        equipment = _chosen(s, Equipment, form.getlist("equipment")[:50], "equipment", errors)
        tooling = _chosen(s, Tooling, form.getlist("tooling")[:50], "tooling", errors)
        documents = []
        for doc in _chosen(s, Document, form.getlist("document")[:50], "document", errors):
            purpose = form.get(f"purpose-{doc.code}") or "sop"
            if purpose not in DOCUMENT_PURPOSES:
                errors["document"] = _("Choose from the list.")
            documents.append((doc, purpose))
        reason = form_reason(form, errors)
        errors.check()
        routings.set_operation_resources(s, actor, op, equipment=equipment, tooling=tooling, documents=documents,
                                         reason=reason)
    return _run(rev_id, f"op-{op_id}-res", apply, f"op-{op_id}")


@bp.post("/<int:rev_id>/operations/<int:op_id>/parameters")
@role_required(*EDITORS)
def add_parameter(rev_id: int, op_id: int):
    def apply(s, actor, rev, errors):
        form, op = request.form, _operation(rev, op_id)
        name = form_text(form, "name", errors, required=True)
        unit = form_text(form, "unit", errors, required=True)
        limits = {k: form_number(form, k, errors) for k in ("target", "lsl", "usl", "lcl", "ucl")}
        errors.check()
        routings.add_parameter(s, actor, op, name=name, unit=unit, critical=form.get("critical") == "on", **limits)
    return _run(rev_id, f"op-{op_id}-param", apply, f"op-{op_id}")


@bp.post("/<int:rev_id>/operations/<int:op_id>/inspections")
@role_required(*EDITORS)
def add_inspection(rev_id: int, op_id: int):
    def apply(s, actor, rev, errors):
        form, op = request.form, _operation(rev, op_id)
        kind = form.get("kind") or "attribute"
        if kind not in INSPECTION_KINDS:
            errors["kind"] = _("Choose from the list.")
        fields = {name: form_text(form, name, errors, required=name != "unit")
                  for name in ("name", "method", "acceptance_criteria", "unit")}
        fields["unit"] = fields["unit"] or None
        sample = form_number(form, "sample_size", errors, integer=True, required=True)
        accept = form_number(form, "accept_number", errors, integer=True)
        lsl, usl = form_number(form, "lsl", errors), form_number(form, "usl", errors)
        sampling_fields = _sampling_fields(form, errors)
        errors.check()
        routings.add_inspection_item(s, actor, op, kind=kind, sample_size=sample, accept_number=accept, lsl=lsl,
                                     usl=usl, **fields, **sampling_fields)
    return _run(rev_id, f"op-{op_id}-insp", apply, f"op-{op_id}")


def _sampling_fields(form, errors: FormErrors) -> dict:
    """Level and AQL (both or neither, from the tables' lists) and the approval of reduced inspection."""
    level = (form.get("inspection_level") or "").strip() or None
    aql_text = (form.get("aql") or "").strip()
    if level is not None and level not in sampling.levels():
        errors["inspection_level"] = _("Choose from the list.")
    if aql_text and aql_text not in sampling.tables()["aqls"]:
        errors["aql"] = _("Choose from the list.")
    return {"inspection_level": level, "aql": float(aql_text) if aql_text and "aql" not in errors else None,
            "reduced_inspection_approved": form.get("reduced_inspection_approved") == "on"}


@bp.post("/<int:rev_id>/operations/<int:op_id>/inspections/<int:item_id>/sampling")
@role_required(*EDITORS)
def inspection_sampling(rev_id: int, op_id: int, item_id: int):
    def apply(s, actor, rev, errors):
        op = _operation(rev, op_id)
        item = next((i for i in op.inspection_items if i.id == item_id), None)
        if item is None:
            abort(404)
        fields = _sampling_fields(request.form, errors)
        reason = form_reason(request.form, errors)
        errors.check()
        routings.update_inspection_item(s, actor, item, reason=reason, **fields)
    return _run(rev_id, f"insp-{item_id}-sampling", apply, f"insp-{item_id}")


@bp.post("/<int:rev_id>/operations/<int:op_id>/remove")
@role_required(*EDITORS)
def remove_operation(rev_id: int, op_id: int):
    def apply(s, actor, rev, errors):
        op = _operation(rev, op_id)
        reason = form_reason(request.form, errors)
        errors.check()
        routings.remove_operation(s, actor, op, reason=reason)
    return _run(rev_id, f"op-{op_id}-remove", apply, "draft-diff")
