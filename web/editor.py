"""The BPMN editor for process owners (process_engineer, admin): open the current version in the
bpmn-js modeler, validate on the server (problems listed, elements highlighted), deploy a new
version with a comment as a signed act, list versions, and compare two versions."""
from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from audit.errors import SignatureError
from audit.signatures import sign
from engine.errors import DeploymentRefused
from engine.users import get_user
from engine.workflows import specs
from engine.workflows.deploy import deploy as deploy_documents
from engine.workflows.deploy import (SHIPPED_COMMENT, check_single_process, list_versions, set_deploy_route,
                                     validate_documents, via_change_control)
from engine.processes.changes import change_of_version
from engine.processes.deploy_changes import route_deployment
from engine.workflows.instances import actor_of
import forms
from engine.workflows import form_versions, script_policy, xmlsafe
from engine.workflows.simulation import simulate as simulate_run
from engine.workflows.models import ProcessVersion
from engine.workflows.operations import helper_names
from web import bpmndiff, diagram_labels
from web.editor_config import editor_config
from web.auth import needs_password, signature_error_text, signing_policy
from web.authz import blueprint_rule, rule
from web.db import sessions, settings, signing_transaction, transaction
from web.i18n import meaning_label, utc_dt

bp = Blueprint("editor", __name__, url_prefix="/editor")
DEPLOY_MEANING = "approved"


blueprint_rule(bp, "bpmn.edit")
bp.add_app_template_global(SHIPPED_COMMENT, "shipped_comment")  # shown in the reader's language


def _latest_versions(s) -> list[ProcessVersion]:
    newest: dict[str, ProcessVersion] = {}
    for v in list_versions(s):
        if v.process_id not in newest:
            newest[v.process_id] = v
    return sorted(newest.values(), key=lambda v: v.process_id)


@bp.get("/")
def index():
    with transaction() as s:
        return render_template("editor/index.html", latest=_latest_versions(s), active_nav="editor")


def _version(s, process_id: str, number: int | None = None) -> ProcessVersion:
    versions = list_versions(s, process_id)
    if not versions:
        abort(404)
    if number is None:
        return versions[0]
    found = next((v for v in versions if v.version == number), None)
    if found is None:
        abort(404)
    return found


def _sign_box(s, problem: str | None = None) -> dict:

    password = needs_password(s)
    return {"id": "sign-deploy", "meaning_label": meaning_label(DEPLOY_MEANING),
            "printed_name": current_user.printed_name, "username": current_user.username,
            "needs_password": password, "error": problem, "open": bool(problem),
            "now_utc": utc_dt(dt.datetime.now(dt.timezone.utc)), "record": None,
            "submit_label": _("Sign and deploy")}


def _edit_page(process_id: str, *, draft_xml: str | None = None, problems: list[dict] | None = None,
               comment: str = "", sign_error: str | None = None, status: int = 200):
    with transaction() as s:
        current = _version(s, process_id)
        versions = list_versions(s, process_id)
        changes_of = {v.id: c.number for v in versions if (c := change_of_version(s, v.id)) is not None}
        return render_template("editor/edit.html", current=current, versions=versions, draft_xml=draft_xml,
                               via_change=via_change_control(s, process_id), changes_of=changes_of,
                               problems=problems or [], comment=comment, sign=_sign_box(s, sign_error),
                               panel=editor_config(_latest_versions(s), form_versions.names(s)), active_nav="editor"), status


@bp.get("/<process_id>")
def edit(process_id: str):
    return _edit_page(process_id)


@bp.get("/<process_id>/v<int:number>.bpmn")
def source(process_id: str, number: int):
    with transaction() as s:
        xml = _version(s, process_id, number).bpmn_xml
    # The compare page's viewers read labels in the user's language; the modeler edits the stored names.
    if request.args.get("labels") == "reader":
        xml = diagram_labels.for_viewer(xml)
    return Response(xml, mimetype="application/xml")


def _problems(items) -> list[dict]:
    return [{"element_id": p.element_id, "line": p.line, "message": p.reason, "file": p.file} for p in items]


def _document(process_id: str, xml: str) -> specs.Document:
    return specs.Document(f"{process_id}.bpmn", xml.encode("utf-8"))


@bp.post("/<process_id>/validate")
def validate(process_id: str):
    """Server-side validation of the edited XML (JSON for the editor's script)."""
    xml = request.form.get("xml", "")
    with transaction() as s:
        _version(s, process_id)
        result = validate_documents(s, [_document(process_id, xml)],
                                              max_bytes=settings().upload_max_bytes)
        problems = _problems(result.problems)
        if result.ok:
            try:
                check_single_process(result, process_id)
            except DeploymentRefused as exc:
                problems.extend(_refusal_problems(exc, process_id))
    return jsonify({"ok": not problems, "problems": problems})


def _json_object(field: str) -> dict:
    """The form field ``field`` as a JSON object (empty: {}); ValueError naming the field."""
    text = (request.form.get(field) or "").strip() or "{}"
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValueError(_("%(field)s is not JSON: %(error)s", field=field, error=exc)) from None
    if not isinstance(value, dict):
        raise ValueError(_("%(field)s must be a JSON object", field=field))
    return value


def _file_form(name: str) -> dict | None:
    try:
        return forms.load(name)
    except forms.FormError:
        return None


def _simulated_now(text: str) -> dt.datetime:
    """The simulated clock's start: an ISO 8601 time (UTC when it names no offset), or now."""
    if not text.strip():
        return dt.datetime.now(dt.timezone.utc)
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(_("now is not an ISO 8601 date and time: %(value)s", value=text[:40])) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


@bp.post("/<process_id>/simulate")
def simulate(process_id: str):
    """Run the edited diagram in memory (no database writes, no signatures): the path, the data at
    each step, the lanes, the timers with their due time, and where it stops."""
    xml = request.form.get("xml", "")
    try:
        start_data, task_data = _json_object("start_data"), _json_object("task_data")
        now = _simulated_now(request.form.get("now") or "")
    except ValueError as exc:
        return jsonify({"ok": False, "problems": [{"element_id": None, "line": None, "message": str(exc)}]}), 422
    with transaction() as s:
        _version(s, process_id)
        result = validate_documents(s, [_document(process_id, xml)], max_bytes=settings().upload_max_bytes)
        if not result.ok or process_id not in result.processes:
            problems = _problems(result.problems) or [{"element_id": None, "line": None, "message": _(
                "The diagram no longer contains the process %(id)s.", id=process_id)}]
            return jsonify({"ok": False, "problems": problems})
        drafts = form_versions.draft_forms(s)
    parsed = result.processes[process_id]
    run = simulate_run(parsed.spec, parsed.subprocess_specs, start_data=start_data, task_data=task_data,
                       form_schema=lambda name: drafts.get(name) or _file_form(name), now=now)
    return jsonify({"ok": run.ok, "problems": [], "run": json.loads(json.dumps(run.as_dict(), default=str))})


@bp.post("/check-script")
def check_script():
    """The script policy's verdict on one script or expression, for the panel's live check."""
    source = request.form.get("source", "")
    kind = request.form.get("kind", "script")
    if kind not in ("script", "expression"):
        return jsonify({"ok": False, "line": None, "message": _("kind must be script or expression")}), 422
    check = script_policy.check_expression if kind == "expression" else script_policy.check_script
    try:
        check(source, helper_names())
    except script_policy.ScriptPolicyError as exc:
        return jsonify({"ok": False, "line": exc.line, "message": exc.reason})
    return jsonify({"ok": True, "line": None, "message": ""})


def _refusal_problems(exc: DeploymentRefused, process_id: str) -> list[dict]:
    """A refused deployment's problems, in the user's language where we know the reason."""
    out = []
    for d in exc.details:
        if d.get("code") == "missing_process":
            message = _("The diagram no longer contains the process %(id)s.", id=process_id)
        elif d.get("code") == "extra_processes":
            message = _("The diagram also contains the process(es) %(ids)s. A deployment signs one process: "
                        "remove the others, or deploy each from its own page.", ids=", ".join(d["processes"]))
        else:
            message = d.get("reason") or d["message"]
        out.append({"element_id": d.get("element_id"), "line": d.get("line"), "message": message,
                     "file": d.get("file") or f"{process_id}.bpmn"})
    return out


@bp.post("/<process_id>/deploy")
def deploy(process_id: str):
    """Deploy the edited diagram as a new version: validated, signed (meaning "approved"), audited."""
    xml = request.form.get("xml", "")
    comment = (request.form.get("comment") or "").strip()
    if not comment:
        return _edit_page(process_id, draft_xml=xml, comment=comment, status=422,
                          problems=[{"element_id": None, "line": None,
                                     "message": _("Say what changed and why: the comment is required.")}])
    password = request.form.get("password") or None
    code = (request.form.get("totp_code") or "").strip()
    try:
        with signing_transaction(sessions(), signing_policy()) as s:
            _version(s, process_id)
            user = get_user(s, current_user.id)
            if via_change_control(s, process_id):  # #14: the deploy opens a change request instead
                change = route_deployment(s, user, _document(process_id, xml), process_id, comment=comment,
                                          password=password, totp_code=code, policy=signing_policy(),
                                          signing_session_id=session.get("signing_session_id"),
                                          max_bytes=settings().upload_max_bytes)
                routed = change.number
            else:
                routed = None
                result = deploy_documents(s, actor_of(user), [_document(process_id, xml)], comment=comment,
                                          max_bytes=settings().upload_max_bytes, only_process=process_id)
                [deployed] = result.deployed  # only_process: exactly the process the signature names
                sign(s, user, password=password, totp_code=code, meaning=DEPLOY_MEANING,
                     record_type="process_version", record_id=f"{process_id}:v{deployed.version}",
                     record={"process_id": process_id, "version": deployed.version,
                             "content_sha256": deployed.content_sha256, "comment": comment},
                     policy=signing_policy(), signing_session_id=session.get("signing_session_id"),
                     comment=comment)
                number = deployed.version
    except DeploymentRefused as exc:
        problems = _refusal_problems(exc, process_id)
        return _edit_page(process_id, draft_xml=xml, problems=problems, comment=comment, status=422)
    except SignatureError as exc:
        return _edit_page(process_id, draft_xml=xml, comment=comment, sign_error=signature_error_text(exc),
                          status=422)
    if routed:
        flash(_("Deploys of %(process)s go through change control: change request %(change)s now carries this "
                "diagram. It is deployed when the change is implemented.", process=process_id, change=routed),
              "success")
        return redirect(url_for("editor.edit", process_id=process_id))
    flash(_("Deployed %(process)s version %(version)s. New instances use it; running ones stay on their version.",
            process=process_id, version=number), "success")
    return redirect(url_for("editor.edit", process_id=process_id))


@bp.post("/<process_id>/deploy-route")
@rule("bpmn.deploy_route")
def deploy_route(process_id: str):
    """A QA manager routes the process's deploys through change control, or back to direct signature."""
    reason = (request.form.get("reason") or "").strip()[:2000]
    choice = request.form.get("via_change_control")
    if choice not in ("0", "1") or not reason:
        flash(_("Choose the deploy route and say why."), "error")
        return redirect(url_for("editor.route_page", process_id=process_id)), 303
    with transaction() as s:
        _version(s, process_id)
        set_deploy_route(s, actor_of(get_user(s, current_user.id)), process_id, via_change_control=choice == "1",
                         reason=reason)
    flash(_("Deploy route of %(process)s saved.", process=process_id), "success")
    return redirect(url_for("editor.route_page", process_id=process_id)), 303


@bp.get("/<process_id>/deploy-route")
@rule("bpmn.deploy_route")
def route_page(process_id: str):
    with transaction() as s:
        current = _version(s, process_id)
        return render_template("editor/route.html", current=current, via_change=via_change_control(s, process_id),
                               active_nav="editor")


@bp.get("/<process_id>/diff")
def diff(process_id: str):
    """Elements added, removed and changed between versions ``a`` (old) and ``b`` (new)."""
    try:
        a, b = int(request.args.get("a", "")), int(request.args.get("b", ""))
    except ValueError:
        abort(400)
    with transaction() as s:
        old, new = _version(s, process_id, a), _version(s, process_id, b)
        changes = bpmndiff.diff(old.bpmn_xml, new.bpmn_xml)
        markers_new = {"st-added": [c.element_id for c in changes if c.kind == "added"],
                       "st-changed": [c.element_id for c in changes if c.kind == "changed"]}
        markers_old = {"st-removed": [c.element_id for c in changes if c.kind == "removed"],
                       "st-changed": [c.element_id for c in changes if c.kind == "changed"]}
        forms_changed = form_versions.form_changes(s, xmlsafe.parse(old.bpmn_xml.encode("utf-8"), old.file_name),
                                                   xmlsafe.parse(new.bpmn_xml.encode("utf-8"), new.file_name))
        return render_template("editor/diff.html", old=old, new=new, changes=changes, markers_old=markers_old,
                               markers_new=markers_new, forms_changed=forms_changed, active_nav="editor")
