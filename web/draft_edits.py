"""Editing product, BOM and document drafts in the browser (routing drafts: web/drafts.py).

Each form parses its fields strictly, calls one engine use case (``revisions.edit_draft``,
``boms.add_line/update_line/remove_line``) with the reason given, and shows the engine's
field-named refusal beside the field with the entries kept. Released revisions cannot be edited
(the engine refuses it); the page shows the difference from the released revision, and "Propose
change" takes the draft to change control (web/drafts.py).
"""
from __future__ import annotations

import math

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from engine.errors import SealtrailError, ValidationFailed
from engine.masterdata import boms, catalog, document_checks, revisions
from engine.masterdata.models import DOCUMENT_TYPES, BomLine, BomRevision, DocumentRevision, Item, ProductRevision
from engine.processes.diffs import diff_revision
from engine.users import actor_for, duties, get_user
from web.authz import blueprint_rule
from web.db import transaction
from web.security import role_required

bp = Blueprint("draftedit", __name__, url_prefix="/drafts")
blueprint_rule(bp, "masterdata.edit")
EDITORS = duties.EDIT_MASTER_DATA
MODELS = {"product": ProductRevision, "bom": BomRevision, "document": DocumentRevision}
TEXT_LIMITS = {"description": 4000, "gtin": 14, "udi_di": 64, "issuing_agency": 16, "device_class": 16,
               "sterilisation_method": 32, "registration_number": 100, "title": 300, "body": 200_000,
               "reference": 100, "notes": 4000, "unit": 32, "code": 64, "name": 200, "work_centre": 64,
               "method": 4000, "acceptance_criteria": 4000}


class FormErrors(dict):
    """Field → message of one form; raise ``ValidationFailed`` when not empty."""

    def check(self) -> None:
        if self:
            field = next(iter(self))
            raise ValidationFailed(self[field], field=field)


def form_text(form, name: str, errors: FormErrors, *, required: bool = False) -> str:
    value = (form.get(name) or "").strip()
    if required and not value:
        errors[name] = _("This field is required.")
    elif len(value) > TEXT_LIMITS.get(name, 200):
        errors[name] = _("At most %(n)s characters.", n=TEXT_LIMITS.get(name, 200))
    return value


def form_number(form, name: str, errors: FormErrors, *, integer: bool = False, required: bool = False):
    text = (form.get(name) or "").strip().replace(",", ".")
    if not text:
        if required:
            errors[name] = _("This field is required.")
        return None
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        errors[name] = _("Enter a whole number.") if integer else _("Enter a number.")
        return None
    if not math.isfinite(value) or abs(value) > 1e12:
        errors[name] = _("Enter a finite number.")
        return None
    return value


def form_reason(form, errors: FormErrors) -> str:
    reason = (form.get("reason") or "").strip()[:2000]
    if not reason:
        errors["reason"] = _("Give the reason for the change.")
    return reason


def _draft(s, kind: str, rev_id: int):
    rev = s.get(MODELS[kind], rev_id)
    if rev is None:
        abort(404)
    return rev


def _render(s, kind: str, rev, *, values=None, errors=None, status: int = 200):
    extra = {}
    if kind == "bom":
        extra["items"] = list(s.scalars(select(Item).where(Item.active.is_(True), Item.item_type != "finished_good")
                                        .order_by(Item.code)))
    return render_template(f"drafts/{kind}.html", rev=rev, kind=kind, values=values or {}, errors=errors or {},
                           diff=diff_revision(s, rev), editable=rev.state == "draft", active_nav="masterdata",
                           pages={"product": "products", "bom": "boms", "document": "documents"},
                           **extra), status


def _edit(kind: str, rev_id: int, form_key: str, apply, anchor: str):
    """Run ``apply(s, actor, rev, errors)`` in one unit of work; on refusal show the form again."""
    errors = FormErrors()
    try:
        with transaction() as s:
            rev = _draft(s, kind, rev_id)
            apply(s, actor_for(get_user(s, current_user.id)), rev, errors)
    except SealtrailError as exc:
        errors = dict(errors) or {exc.field or "reason": exc.message}
        with transaction() as s:
            return _render(s, kind, _draft(s, kind, rev_id), values={form_key: dict(request.form)},
                           errors={form_key: errors}, status=exc.status)
    flash(_("Saved to the draft."), "success")
    return redirect(url_for("draftedit.show", kind=kind, rev_id=rev_id, _anchor=anchor))


@bp.get("/product/<int:rev_id>", defaults={"kind": "product"})
@bp.get("/bom/<int:rev_id>", defaults={"kind": "bom"})
@bp.get("/document/<int:rev_id>", defaults={"kind": "document"})
@role_required(*EDITORS)
def show(kind: str, rev_id: int):
    with transaction() as s:
        return _render(s, kind, _draft(s, kind, rev_id))


@bp.post("/product/<int:rev_id>")
@role_required(*EDITORS)
def product(rev_id: int):
    """The regulated identity of a product draft: UDI-DI (GS1 GTIN), class, sterility, shelf life."""
    def apply(s, actor, rev, errors):
        form = request.form
        fields = {name: form_text(form, name, errors) for name in ("description", "gtin", "udi_di", "issuing_agency",
                                                                "device_class", "sterilisation_method",
                                                                "registration_number")}
        fields["gtin"] = fields["gtin"] or None
        fields["udi_di"] = fields["udi_di"] or None
        fields["issuing_agency"] = fields["issuing_agency"] or "GS1"
        fields["sterile"] = form.get("sterile") == "on"
        fields["shelf_life_months"] = form_number(form, "shelf_life_months", errors, integer=True)
        reason = form_reason(form, errors)
        errors.check()
        revisions.edit_draft(s, actor, rev, reason=reason, **fields)
    return _edit("product", rev_id, "identity", apply, "identity")


@bp.post("/bom/<int:rev_id>")
@role_required(*EDITORS)
def bom(rev_id: int):
    """The base quantity the BOM lines are given for."""
    def apply(s, actor, rev, errors):
        base = form_number(request.form, "base_quantity", errors, required=True)
        reason = form_reason(request.form, errors)
        errors.check()
        revisions.edit_draft(s, actor, rev, reason=reason, base_quantity=base)
    return _edit("bom", rev_id, "base", apply, "base")


def _line_fields(s, form, errors: FormErrors) -> dict:
    fields = {"quantity": form_number(form, "quantity", errors, required=True),
              "unit": form_text(form, "unit", errors, required=True),
              "tolerance_pct": form_number(form, "tolerance_pct", errors, required=True),
              "reference": form_text(form, "reference", errors), "notes": form_text(form, "notes", errors)}
    if fields["quantity"] is not None and fields["quantity"] <= 0:
        errors["quantity"] = _("The quantity must be greater than zero.")
    if fields["tolerance_pct"] is not None and not 0 <= fields["tolerance_pct"] <= 100:
        errors["tolerance_pct"] = _("A tolerance between 0 and 100 per cent.")
    return fields


@bp.post("/bom/<int:rev_id>/lines")
@role_required(*EDITORS)
def bom_add_line(rev_id: int):
    def apply(s, actor, rev, errors):
        form = request.form
        fields = _line_fields(s, form, errors)
        code = (form.get("component") or "").strip()
        component = s.scalar(select(Item).where(Item.code == code)) if code else None
        if component is None:
            errors["component"] = _("Choose a component.")
        errors.check()
        boms.add_line(s, actor, rev, component=component, **fields)
    return _edit("bom", rev_id, "new-line", apply, "lines")


def _line(rev, line_id: int) -> BomLine:
    line = next((ln for ln in rev.lines if ln.id == line_id), None)
    if line is None:
        abort(404)
    return line


@bp.post("/bom/<int:rev_id>/lines/<int:line_id>")
@role_required(*EDITORS)
def bom_line(rev_id: int, line_id: int):
    def apply(s, actor, rev, errors):
        form = request.form
        line = _line(rev, line_id)
        reason = form_reason(form, errors)
        if form.get("remove") == "1":
            errors.check()
            boms.remove_line(s, actor, line, reason=reason)
            return
        fields = _line_fields(s, form, errors)
        errors.check()
        boms.update_line(s, actor, line, reason=reason, **fields)
    return _edit("bom", rev_id, f"line-{line_id}", apply, "lines")


@bp.post("/document/<int:rev_id>")
@role_required(*EDITORS)
def document(rev_id: int):
    """Title, Markdown body and an attached PDF or Markdown file (stored with its SHA-256)."""
    def apply(s, actor, rev, errors):
        form = request.form
        fields = {"title": form_text(form, "title", errors, required=True), "body": form.get("body") or ""}
        if len(fields["body"]) > TEXT_LIMITS["body"]:
            errors["body"] = _("At most %(n)s characters.", n=TEXT_LIMITS["body"])
        upload = request.files.get("file")
        if upload is not None and upload.filename:
            content = upload.read(document_checks.MAX_FILE_BYTES + 1)
            try:
                file_type = document_checks.check_file(upload.filename, content)
                fields.update(file_name=upload.filename, file_type=file_type, file_content=content)
            except ValidationFailed as exc:
                errors["file"] = exc.message
        elif form.get("remove_file") == "on":
            fields.update(file_name=None, file_type=None, file_content=None)
        reason = form_reason(form, errors)
        errors.check()
        revisions.edit_draft(s, actor, rev, reason=reason, **fields)
    return _edit("document", rev_id, "content", apply, "content")


# --- new objects: the master and its first draft (revision A), released by change control ----------

NEW_KINDS = ("product", "bom", "routing", "document")


def _new_page(s, *, values=None, errors=None, status: int = 200):
    items = list(s.scalars(select(Item).where(Item.active.is_(True)).order_by(Item.code)))
    return render_template("drafts/new.html", items=items, doc_types=DOCUMENT_TYPES, values=values or {},
                           errors=errors or {}, active_nav="masterdata"), status


@bp.get("/new")
@role_required(*EDITORS)
def new():
    with transaction() as s:
        return _new_page(s)[0]


def _create(s, actor, kind: str, form, errors: FormErrors):
    code = form_text(form, "code", errors, required=True)
    if kind == "document":
        title = form_text(form, "title", errors, required=True)
        doc_type = form.get("doc_type") or ""
        if doc_type not in DOCUMENT_TYPES:
            errors["doc_type"] = _("Choose from the list.")
        errors.check()
        return catalog.create_document(s, actor, code=code, title=title, doc_type=doc_type)[1]
    name = form_text(form, "name", errors, required=True)
    item = s.scalar(select(Item).where(Item.code == (form.get("item") or "").strip()))
    if item is None:
        errors["item"] = _("Choose from the list.")
    errors.check()
    create = {"product": catalog.create_product, "bom": catalog.create_bom, "routing": catalog.create_routing}[kind]
    return create(s, actor, code=code, name=name, item=item)[1]


@role_required(*EDITORS)
def create(kind: str):
    """Create a new object of ``kind`` with its first draft, then open the draft's editor."""
    errors = FormErrors()
    try:
        with transaction() as s:
            rev = _create(s, actor_for(get_user(s, current_user.id)), kind, request.form, errors)
            rev_id = rev.id
    except SealtrailError as exc:
        with transaction() as s:
            return _new_page(s, values={kind: dict(request.form)},
                             errors={kind: dict(errors) or {exc.field or "code": exc.message}}, status=exc.status)
    flash(_("Created with a first draft (revision A): fill it in, then propose the change."), "success")
    if kind == "routing":
        return redirect(url_for("drafts.routing", rev_id=rev_id))
    return redirect(url_for("draftedit.show", kind=kind, rev_id=rev_id))


for _kind in NEW_KINDS:  # one rule per kind: an unknown kind is no route
    bp.add_url_rule(f"/new/{_kind}", "create", create, methods=["POST"], defaults={"kind": _kind})
