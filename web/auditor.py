"""Auditor views (read-only): trail search, entry detail, object history, e-signature register,
chain verification and the export bundle. Role ``auditor`` or ``qa_manager`` (admin holds all)."""
from __future__ import annotations

import datetime as dt
import io
import json
import tempfile
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, request, send_file
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from audit.checkpoints import load_signing_key, signing_key_for, write_checkpoint_files
from audit.errors import CheckpointError
from audit.export import ExportError, export_sealed
from audit.models import AuditEntry, Signature
from audit.policy import MEANINGS
from audit.verify import verify_chain
from engine.config import checkpoint_files
from engine.trail_reader import signed_record_titles
from engine.errors import Conflict, ValidationFailed
from web.authz import blueprint_rule
from web.db import settings, transaction
from web.i18n import meaning_label
from web.pagination import page_number, paginate

bp = Blueprint("auditor", __name__, url_prefix="/audit")


blueprint_rule(bp, "audit_trail")


_RECORD_TYPES = {
    "workflow_task": _l("Task"), "process_version": _l("Process version"), "lot": _l("Lot"),
    "api_token": _l("API token"), "alarm_rule": _l("Alarm rule"), "spc_baseline": _l("SPC baseline"),
    "workflow_migration": _l("Process migration"), "esignature_acknowledgement": _l("E-signature acknowledgement"),
    "totp_credential": _l("Authenticator"),
}


_OBJECT_TYPES = {
    "lot": _l("Lot"), "user": _l("User"), "change_request": _l("Change request"),
    "routing_revision": _l("Routing revision"), "bom_revision": _l("BOM revision"), "capa": _l("CAPA"),
    "process_instance": _l("Process instance"), "process_version": _l("Process version"),
    "decision_version": _l("Decision table version"), "deviation": _l("Deviation"), "workflow_task": _l("Task"),
    "audit_review": _l("Audit-trail review"), "release_review": _l("Release review"), "equipment": _l("Equipment"),
    "tooling": _l("Tooling"), "routing": _l("Routing"), "product": _l("Product"), "item": _l("Item"),
    "document": _l("Document"), "bom": _l("BOM"), "training_record": _l("Training record"),
    "work_centre": _l("Work centre"), "production_plan": _l("Production plan"),
}


def object_label(object_type: str) -> str:
    """An audited object's type in the user's language (unknown types as stored, spaced)."""
    label = _OBJECT_TYPES.get(object_type)
    return str(label) if label is not None else object_type.replace("_", " ")


bp.add_app_template_global(object_label)


def _meanings() -> dict[str, str]:
    """Signature meanings (stored keys) with their labels in the user's language."""
    return {key: meaning_label(key) for key in MEANINGS}


def _utc_bound(raw: str | None, end: bool = False) -> str | None:
    """A date (YYYY-MM-DD, the user's day in UTC terms) as the stored ISO text bound."""
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        return None
    moment = dt.datetime.combine(day + dt.timedelta(days=1) if end else day, dt.time(), dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@bp.get("/")
def index():
    """Search the trail by object, user, action and time range; newest first."""
    args = {k: (request.args.get(k) or "").strip() for k in ("object_type", "object_id", "user", "action",
                                                              "date_from", "date_to")}
    query = select(AuditEntry)
    if args["object_type"]:
        query = query.where(AuditEntry.object_type == args["object_type"])
    if args["object_id"]:
        query = query.where(AuditEntry.object_id == args["object_id"])
    if args["user"]:
        query = query.where(or_(AuditEntry.actor_id == args["user"],
                                AuditEntry.actor_name.ilike(_like(args["user"]), escape="\\")))
    if args["action"]:
        query = query.where(AuditEntry.action.like(args["action"].replace("*", "%")))
    if (lower := _utc_bound(args["date_from"])):
        query = query.where(AuditEntry.recorded_at >= lower)
    if (upper := _utc_bound(args["date_to"], end=True)):
        query = query.where(AuditEntry.recorded_at < upper)
    with transaction() as s:
        page = paginate(s, query.order_by(AuditEntry.seq.desc()), page_number(request.args.get("page")))
        types = sorted(s.scalars(select(AuditEntry.object_type).distinct()))
        return render_template("auditor/index.html", page=page, args=args, types=types,
                               active_nav="auditor")


def _flatten(value, prefix: str = "") -> dict:
    """Nested mappings as ``{"a.b": leaf}`` so a change deep inside a record is one row of the diff."""
    if not isinstance(value, dict) or (prefix and not value):
        return {prefix: value}
    out: dict = {}
    for key, inner in value.items():
        out.update(_flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _changes(before, after) -> list[tuple[str, object, object, str]]:
    """(field, old, new, kind) for a before/after pair, field by field (nested fields by their
    dotted path); kind: added, removed, changed, same."""
    if not isinstance(before, dict) and not isinstance(after, dict):
        if before == after:
            return []
        return [("", before, after, "changed")]
    old, new = _flatten(before or {}), _flatten(after or {})
    rows = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            rows.append((key, None, new[key], "added"))
        elif key not in new:
            rows.append((key, old[key], None, "removed"))
        else:
            rows.append((key, old[key], new[key], "same" if old[key] == new[key] else "changed"))
    return rows


@bp.get("/entries/<int:seq>")
def entry(seq: int):
    with transaction() as s:
        row = s.scalars(select(AuditEntry).where(AuditEntry.seq == seq)).first()
        if row is None:
            abort(404)
        signature = s.scalars(select(Signature).where(Signature.audit_entry_id == row.id)).first()
        linked = (row.payload_value or {}).get("signature_id") if isinstance(row.payload_value, dict) else None
        if signature is None and linked:  # e.g. a task completion names the signature it carries
            signature = s.scalars(select(Signature).where(Signature.signature_id == str(linked))).first()
        neighbours = {
            "prev": s.scalar(select(AuditEntry.seq).where(AuditEntry.seq < seq).order_by(AuditEntry.seq.desc()).limit(1)),
            "next": s.scalar(select(AuditEntry.seq).where(AuditEntry.seq > seq).order_by(AuditEntry.seq).limit(1)),
        }
        return render_template("auditor/entry.html", e=row, changes=_changes(row.before_value, row.after_value),
                               payload=_pretty(row.payload_value), signature=signature,
                               neighbours=neighbours, meanings=_meanings(), active_nav="auditor")


def _pretty(value) -> str | None:
    return None if value is None else json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


@bp.get("/objects/<path:object_type>/<path:object_id>")
def history(object_type: str, object_id: str):
    """Everything that happened to one object, oldest first, with the signatures applied to it."""
    with transaction() as s:
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.object_type == object_type,
                                                          AuditEntry.object_id == object_id)
                                 .order_by(AuditEntry.seq)))
        signatures = list(s.scalars(select(Signature).where(Signature.record_type == object_type,
                                                            Signature.record_id == object_id)
                                    .order_by(Signature.id)))
        if not entries and not signatures:
            abort(404)
        return render_template("auditor/history.html", object_type=object_type, object_id=object_id,
                               entries=[(e, _changes(e.before_value, e.after_value)) for e in entries],
                               signatures=signatures, meanings=_meanings(), active_nav="auditor")


@bp.get("/signatures")
def signatures():
    """The e-signature register: every signature, newest first, filterable."""
    args = {k: (request.args.get(k) or "").strip() for k in ("user", "meaning", "record_type",
                                                              "date_from", "date_to")}
    query = select(Signature, AuditEntry.seq).join(AuditEntry, AuditEntry.id == Signature.audit_entry_id)
    if args["user"]:
        query = query.where(or_(Signature.username == args["user"],
                                Signature.printed_name.ilike(_like(args["user"]), escape="\\")))
    if args["meaning"]:
        query = query.where(Signature.meaning == args["meaning"])
    if args["record_type"]:
        query = query.where(Signature.record_type == args["record_type"])
    if (lower := _utc_bound(args["date_from"])):
        query = query.where(Signature.signed_at >= lower)
    if (upper := _utc_bound(args["date_to"], end=True)):
        query = query.where(Signature.signed_at < upper)
    with transaction() as s:
        page = paginate(s, query.order_by(Signature.id.desc()), page_number(request.args.get("page")),
                        scalars=False)
        titles = signed_record_titles(s, [sig for sig, _seq in page.items])
        types = {t: str(_RECORD_TYPES.get(t, t.replace("_", " ")))
                 for t in s.scalars(select(Signature.record_type).distinct().order_by(Signature.record_type))}
        return render_template("auditor/signatures.html", page=page, args=args, meanings=_meanings(),
                               titles=titles, record_types=types, active_nav="auditor")


def _checkpoint_key():
    """The installation's checkpoint key (None when this installation has none yet)."""
    path = settings().checkpoint_key_path
    return load_signing_key(path, create=False) if path.exists() else None


@bp.get("/verify")
def verify():
    """Verify the chain on request (a read: nothing is written) and show the result."""

    result = None
    if request.args.get("run"):
        key = _checkpoint_key()
        files = current_app.config.get("AUDIT_CHECKPOINT_FILES", ())
        with transaction() as s:
            result = verify_chain(s, public_key=key.public_key() if key else None, checkpoint_files=files)
    return render_template("auditor/verify.html", result=result, active_nav="auditor")


@bp.get("/export")
def export():
    """Download the export bundle ``sealtrail audit export`` writes (the same function: head sealed
    by a checkpoint first, flat zip), which ``verify_bundle.py`` verifies offline."""
    try:  # generated only for a trail that has none yet; never silently for an existing trail
        with transaction() as s:
            key = signing_key_for(s, settings().checkpoint_key_path)
    except CheckpointError as exc:
        raise Conflict(str(exc)) from None
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp) / f"sealtrail-audit-{stamp}.zip"
        try:
            with transaction() as s:
                export_sealed(s, dest, key=key, **_export_selection())
        except ExportError as exc:
            raise ValidationFailed(str(exc)) from None
        with transaction() as s:  # after the commit: the files get the new checkpoint
            write_checkpoint_files(s, checkpoint_files(settings()))
        data = dest.read_bytes()
    return send_file(io.BytesIO(data), mimetype="application/zip", as_attachment=True, download_name=dest.name)


def _export_selection() -> dict:
    """The export's selection from the query: one object, or a date range (the user's days in UTC)."""
    object_type = (request.args.get("object_type") or "").strip()
    object_id = (request.args.get("object_id") or "").strip()
    if object_type and object_id:
        return {"obj": (object_type, object_id)}
    out = {}
    if (lower := _utc_bound(request.args.get("date_from"))):
        out["time_from"] = dt.datetime.fromisoformat(lower.replace("Z", "+00:00"))
    if (upper := _utc_bound(request.args.get("date_to"), end=True)):
        out["time_to"] = dt.datetime.fromisoformat(upper.replace("Z", "+00:00"))
    return out
