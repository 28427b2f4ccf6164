"""The task page: form from its JSON Schema, the context, the instance's history, and completion
as a Part 11 e-signature (password + TOTP on the session's first signature, TOTP after)."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from audit import SYSTEM
from audit.errors import SignatureError
from engine.delegations.acting import acting_for, on_behalf_name
from engine.errors import Forbidden, RuleViolation, TaskNotReady, ValidationFailed
from engine.masterdata.models import Document, DocumentRevision
from engine.users import get_user
from engine.workflows import runtime
from engine.workflows import tasks as wf_tasks
from engine.workflows import visibility
from engine.workflows.form_versions import load_form
from engine.workflows.instances import get_instance, instance_history
from engine.workflows.models import WorkflowTask
from web import formrender, task_context
from web.auth import needs_password, signature_error_text, signing_policy
from web.authz import blueprint_rule
from web.db import sessions, signing_transaction, transaction
from web.i18n import current_language, meaning_label, utc_dt
from web.viewer import current_viewer

bp = Blueprint("tasks", __name__, url_prefix="/tasks")
blueprint_rule(bp, "processes")
bp.add_app_template_global(task_context.measurement_chart, "measurement_chart")


def _context(s, row: WorkflowTask, schema: dict) -> dict:
    """The task's read-only context values (impact list, exceptions, measurements…)."""
    keys = [k for k, v in schema.get("properties", {}).items() if v.get("readOnly")]
    if not keys or row.state != "ready":
        return {}
    workflow = runtime.load(s, get_instance(s, row.instance_id), SYSTEM)
    data = runtime.find_task(workflow, row.id).data
    return {k: data.get(k) for k in keys if data.get(k) not in (None, "", [], {})}


def _document_to_read(s, context: dict):
    """The document revision a read-and-acknowledge task is about (shown in full beside the form)."""
    code, label = context.get("document_code"), context.get("document_revision")
    if not isinstance(code, str) or not isinstance(label, str):
        return None
    return s.scalar(select(DocumentRevision).join(Document, Document.id == DocumentRevision.document_id)
                    .where(Document.code == code, DocumentRevision.label == label))


def _prefill(s, row: WorkflowTask) -> dict:
    """Entries the instance already holds for this form's fields (a change proposed from the
    master-data page, a request returned for rework): shown for review, signed as shown. Only
    forms that say ``"x-prefill": true`` (a decision is never pre-selected from an earlier round)."""
    schema = load_form(s, row.form) if row.form else {}
    keys = [k for k, v in schema.get("properties", {}).items() if not v.get("readOnly")]
    if not keys or not schema.get("x-prefill"):
        return {}
    workflow = runtime.load(s, get_instance(s, row.instance_id), SYSTEM)
    data = runtime.find_task(workflow, row.id).data
    return {k: data[k] for k in keys if data.get(k) not in (None, "", [], {})}


def _render(s, row: WorkflowTask, data: dict, errors: dict[str, list[str]], sign_error: str | None = None,
            general: list[str] | None = None, status: int = 200):
    schema = load_form(s, row.form) if row.form else {"type": "object", "properties": {}}
    lang = "zh" if current_language() == "zh_CN" else "en"
    context = _context(s, row, schema)
    fields = formrender.build(schema, {**task_context.first_rows(context), **data}, lang, errors)
    for path, options in task_context.choices(context).items():
        formrender.offer_choices(fields, path, options)
    general = list(general or [])
    for key in errors:
        if key and not any(f.name == key or key.startswith(f.name + ".") for f in fields):
            general.extend(errors[key])
    meaning = wf_tasks.meaning_preview(s, row, data)
    instance = get_instance(s, row.instance_id)
    context_fields = {f.key: f for f in fields if f.kind == "readonly"}
    sign = {"id": "sign-task", "meaning": meaning, "meaning_label": meaning_label(meaning),
            "meaning_url": url_for("tasks.meaning", task_id=row.id), "printed_name": _signer_name(s, row),
            "username": current_user.username, "needs_password": needs_password(s), "error": sign_error,
            "open": bool(sign_error), "now_utc": utc_dt(dt.datetime.now(dt.timezone.utc)),
            "record": f"{row.title} · {row.business_key or instance.id}", "submit_label": _("Sign and complete")}
    return render_template("tasks/show.html", task=row, instance=instance, fields=fields, context=context, lang=lang,
                           context_fields=context_fields, history=instance_history(s, instance.id),
                           document=_document_to_read(s, context),
                           sign=sign, general=general, description=formrender.description_of(schema, lang),
                           active_nav="inbox"), status


def _signer_name(s, row: WorkflowTask) -> str:
    """The name the signature will manifest: the person's, or "Li Na for Zhao Min" when the task's
    lane is delegated to them rather than theirs (the same test complete_task applies)."""
    if row.lane is None or row.lane in current_user.roles:
        return current_user.printed_name
    delegation = acting_for(s, current_user, role=row.lane, process_id=row.process_id,
                            at=dt.datetime.now(dt.timezone.utc))
    return on_behalf_name(current_user, delegation) if delegation else current_user.printed_name


def _visible_row(s, task_id: str) -> WorkflowTask:
    return visibility.check_task_visible(current_viewer(s), wf_tasks.get_task(s, task_id))


@bp.get("/<task_id>")
def show(task_id: str):
    with transaction() as s:
        row = _visible_row(s, task_id)
        if row.state != "ready":
            return redirect(url_for("instances.show", instance_id=row.instance_id, _anchor=f"task-{row.id}"))
        return _render(s, row, _prefill(s, row), {})


@bp.post("/<task_id>")
def complete(task_id: str):
    """Validate here (messages per field, in the user's language), then sign and complete."""
    with transaction() as s:
        row = _visible_row(s, task_id)
        if row.state != "ready":
            flash(_("This task was already completed or cancelled."), "warning")
            return redirect(url_for("instances.show", instance_id=row.instance_id))
        schema = load_form(s, row.form) if row.form else {"type": "object", "properties": {}}
        data = formrender.parse(schema, request.form)
        errors = formrender.validate(schema, data)
        if errors:
            return _render(s, row, data, errors, status=422)
        shown = request.form.get("meaning_shown")
        actual = wf_tasks.meaning_preview(s, row, data)
        if shown is not None and shown != actual:
            # The dialog showed another meaning than the one the entries give: sign nothing, show it.
            return _render(s, row, data, {}, status=422, sign_error=_(
                "The meaning of this signature follows from your entries and is “%(meaning)s”. "
                "Check it and sign again.", meaning=meaning_label(actual)))
    password = request.form.get("password") or None
    code = (request.form.get("totp_code") or "").strip()
    failure: tuple | None = None
    try:
        with signing_transaction(sessions(), signing_policy()) as s:
            wf_tasks.complete_task(s, user=get_user(s, current_user.id), task_id=task_id, data=data,
                                   totp_code=code, password=password, policy=signing_policy(),
                                   signing_session_id=session.get("signing_session_id"))
    except SignatureError as exc:
        failure = (signature_error_text(exc), {}, [], 422)
    except ValidationFailed as exc:
        failure = (None, _details(exc), [] if exc.details else [exc.message], 422)
    except Forbidden as exc:  # segregation of duties, claimed by someone else: say why
        failure = (None, {}, [exc.message], 403)
    except RuleViolation as exc:  # e.g. a held lot cannot be released: nothing was signed, keep the form
        failure = (None, {}, [exc.message], 422)
    except TaskNotReady:
        flash(_("This task was completed by someone else in the meantime."), "warning")
        return redirect(url_for("inbox.index"))
    if failure is not None:
        with transaction() as s:
            row = _visible_row(s, task_id)
            return _render(s, row, data, failure[1], sign_error=failure[0], general=failure[2],
                           status=failure[3])
    flash(_("Signed and completed: %(task)s.", task=row.title), "success")
    return redirect(url_for("inbox.index"))


@bp.post("/<task_id>/meaning")
def meaning(task_id: str):
    """The signature meaning the current entries give (the signing dialog asks before it opens)."""
    with transaction() as s:
        row = _visible_row(s, task_id)
        if row.state != "ready":
            abort(409)
        schema = load_form(s, row.form) if row.form else {"type": "object", "properties": {}}
        value = wf_tasks.meaning_preview(s, row, formrender.parse(schema, request.form))
    return jsonify(meaning=value, label=meaning_label(value))


def _details(exc: ValidationFailed) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for d in exc.details:
        out.setdefault(str(d.get("field") or "").replace("/", ".").strip("."), []).append(d.get("message", ""))
    return out
