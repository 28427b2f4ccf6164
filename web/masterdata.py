"""Master data: browse products, BOMs (as a tree), routings (operations, parameters, limits),
equipment (calibration status) and documents, with revision history, a side-by-side compare of
two revisions, and new drafts (released by change control)."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from markdown_it import MarkdownIt
from markupsafe import Markup

from engine.masterdata.models import Bom, Document, DocumentRevision, Equipment, Product, Routing
from engine.masterdata.revisions import effective_revision, new_draft
from engine.users import actor_for, get_user
from web.db import transaction
from web.authz import blueprint_rule, may_use, rule

bp = Blueprint("masterdata", __name__, url_prefix="/masterdata")
KINDS = {"products": Product, "boms": Bom, "routings": Routing, "documents": Document}
blueprint_rule(bp, "signed_in")
# CommonMark with raw HTML off: tags in a document are shown as text, unsafe link schemes dropped.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


@bp.app_template_filter("markdown")
def markdown(text: str | None) -> Markup:
    """A controlled document's Markdown as HTML (raw HTML in it is escaped, never rendered)."""
    return Markup(_MARKDOWN.render(text or ""))  # noqa: S704 - markdown-it escapes: html is off


@bp.get("/")
def index():
    kind = request.args.get("kind") if request.args.get("kind") in (*KINDS, "equipment") else "products"
    today = dt.date.today()
    with transaction() as s:
        if kind == "equipment":
            rows = list(s.scalars(select(Equipment).order_by(Equipment.code)))
            return render_template("masterdata/equipment.html", kind=kind, rows=rows, today=today,
                                   active_nav="masterdata")
        masters = list(s.scalars(select(KINDS[kind]).order_by(KINDS[kind].code)))
        rows = [(m, effective_revision(s, m), m.revisions[-1] if m.revisions else None) for m in masters]
        return render_template("masterdata/index.html", kind=kind, rows=rows, active_nav="masterdata")


def _master(s, kind: str, code: str):
    if kind not in KINDS:
        abort(404)
    master = s.scalars(select(KINDS[kind]).where(KINDS[kind].code == code)).first()
    if master is None:
        abort(404)
    return master


def revision_content(rev) -> dict[str, str]:
    """A revision flattened to ``{"path": "value"}`` rows (for display and comparison)."""
    out: dict[str, str] = {}
    skip = {"id", "state", "created_at", "created_by_id", "submitted_at", "submitted_by_id", "released_at",
            "released_by_id", "obsoleted_at", "obsoleted_by_id", "file_content"}
    for col in rev.__table__.columns:
        if col.key not in skip and not col.foreign_keys:
            out[col.key] = "" if getattr(rev, col.key) is None else str(getattr(rev, col.key))
    for line in getattr(rev, "lines", []) or []:
        out[f"line {line.position}: {line.component.code}"] = (f"{line.quantity:g} {line.unit} (+{line.tolerance_pct:g} %) "
                                                             f"{line.reference}").strip()
    for op in getattr(rev, "operations", []) or []:
        prefix = f"op {op.sequence} {op.code}"
        out[prefix] = f"{op.name} @ {op.work_centre}" + (" [QC]" if op.qc_point else "")
        for p in op.parameters:
            limits = " ".join(f"{k}={getattr(p, k):g}" for k in ("lsl", "target", "usl", "lcl", "ucl")
                              if getattr(p, k) is not None)
            out[f"{prefix} · {p.name}"] = f"{limits} {p.unit}" + (" critical" if p.critical else "")
        for link in op.equipment_links:
            out[f"{prefix} · equipment {link.equipment.code}"] = link.equipment.name
        for link in op.document_links:
            out[f"{prefix} · document {link.document.code}"] = link.purpose
        for item in op.inspection_items:
            out[f"{prefix} · inspection {item.name}"] = f"{item.kind}: {item.method}"
    return out


def bom_tree(s, rev, depth: int = 0, seen: frozenset = frozenset()) -> list[dict]:
    """The BOM as nested rows: each component with its own effective BOM below it."""
    rows = []
    for line in rev.lines:
        child = None
        sub = s.scalars(select(Bom).where(Bom.item_id == line.component_id)).first()
        if sub is not None and sub.id not in seen and depth < 8:
            child_rev = effective_revision(s, sub)
            child = bom_tree(s, child_rev, depth + 1, seen | {sub.id}) if child_rev else None
        rows.append({"line": line, "children": child})
    return rows


@bp.get("/<kind>/<code>")
def show(kind: str, code: str):
    with transaction() as s:
        master = _master(s, kind, code)
        revisions = list(master.revisions)
        if not revisions:
            abort(404)
        chosen = next((r for r in revisions if str(r.id) == request.args.get("rev")), None) \
            or effective_revision(s, master) or revisions[-1]
        tree = bom_tree(s, chosen) if kind == "boms" else None
        return render_template("masterdata/show.html", kind=kind, master=master, revisions=revisions, rev=chosen,
                               content=revision_content(chosen), tree=tree, can_edit=may_use("masterdata.draft"),
                               pages={"products": "product", "boms": "bom", "documents": "document"},
                               active_nav="masterdata")


@bp.get("/<kind>/<code>/compare")
def compare(kind: str, code: str):
    with transaction() as s:
        master = _master(s, kind, code)
        by_id = {str(r.id): r for r in master.revisions}
        a, b = by_id.get(request.args.get("a", "")), by_id.get(request.args.get("b", ""))
        if a is None or b is None:
            abort(404)
        left, right = revision_content(a), revision_content(b)
        rows = [(k, left.get(k), right.get(k)) for k in sorted(set(left) | set(right))]
        return render_template("masterdata/compare.html", kind=kind, master=master, a=a, b=b, rows=rows,
                               active_nav="masterdata")


@bp.post("/<kind>/<code>/draft")
@rule("masterdata.edit")
def draft(kind: str, code: str):
    """Start a new draft revision (copied from the effective one); change control releases it."""
    summary = (request.form.get("change_summary") or "").strip()
    if not summary:
        flash(_("Say what the new revision changes."), "error")
        return redirect(url_for("masterdata.show", kind=kind, code=code))
    with transaction() as s:
        master = _master(s, kind, code)
        rev = new_draft(s, actor_for(get_user(s, current_user.id)), master, change_summary=summary)
        rev_id = rev.id
    flash(_("Draft revision created. Change control releases it."), "success")
    return redirect(url_for("masterdata.show", kind=kind, code=code, rev=rev_id))


@bp.get("/documents/<code>/file/<int:rev_id>")
def document_file(code: str, rev_id: int):
    """The file attached to a document revision, shown inline (PDF in the page's frame)."""
    with transaction() as s:
        rev = s.get(DocumentRevision, rev_id)
        if rev is None or rev.master.code != code or rev.file_content is None:
            abort(404)
        response = Response(rev.file_content, mimetype=rev.file_type or "application/octet-stream")
        safe_name = "".join(c for c in rev.file_name or "document" if c.isalnum() or c in "._-") or "document"
        response.headers["Content-Disposition"] = f'inline; filename="{safe_name}"'
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'self'; sandbox"
        response.headers["X-Document-SHA256"] = rev.file_sha256 or ""
        return response
