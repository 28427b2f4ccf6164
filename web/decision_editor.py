"""The decision-table editor (dmn-js), beside the BPMN editor: open a table's current version,
edit its rules and its test sheet, validate on the server (verification findings and failing
examples listed), try it on example inputs, deploy a new version with a comment as a signed act
(the processes that run the table get new versions pinning it), list versions and compare two."""
from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from audit.errors import SignatureError
from audit.signatures import sign
from engine.errors import DeploymentRefused, ValidationFailed
from engine.users import get_user
from engine.workflows import decision_authoring, specs
from engine.workflows.deploy import deploy as deploy_documents
from engine.workflows.decision_tables import TableRefused
from engine.workflows.deploy import list_decisions, validate_documents
from engine.workflows.instances import actor_of
from engine.workflows.models import DecisionVersion
from web import dmndiff
from web.auth import needs_password, signature_error_text, signing_policy
from web.authz import blueprint_rule
from web.db import sessions, settings, signing_transaction, transaction
from web.i18n import meaning_label, utc_dt

bp = Blueprint("decision_editor", __name__, url_prefix="/editor/decisions")
DEPLOY_MEANING = "approved"
MAX_TESTS_FIELD = 512 * 1024

blueprint_rule(bp, "dmn.edit")


def _versions(s, decision_id: str) -> list[DecisionVersion]:
    return [v for v in list_decisions(s) if v.decision_id == decision_id]


def _version(s, decision_id: str, number: int | None = None) -> DecisionVersion:
    versions = _versions(s, decision_id)
    found = versions[:1] if number is None else [v for v in versions if v.version == number]
    if not found:
        abort(404)
    return found[0]


@bp.get("/")
def index():
    with transaction() as s:
        latest: dict[str, DecisionVersion] = {}
        for v in list_decisions(s):
            latest.setdefault(v.decision_id, v)
        return render_template("decision_editor/index.html", latest=list(latest.values()), active_nav="decisions")


def _sign_box(s, problem: str | None = None) -> dict:
    return {"id": "sign-deploy", "meaning_label": meaning_label(DEPLOY_MEANING),
            "printed_name": current_user.printed_name, "username": current_user.username,
            "needs_password": needs_password(s), "error": problem, "open": bool(problem),
            "now_utc": utc_dt(dt.datetime.now(dt.timezone.utc)), "record": None,
            "submit_label": _("Sign and deploy")}


def _edit_page(decision_id: str, *, draft_xml: str | None = None, draft_tests: list | None = None,
               problems: list[dict] | None = None, comment: str = "", sign_error: str | None = None,
               status: int = 200):
    with transaction() as s:
        current = _version(s, decision_id)
        tests = draft_tests if draft_tests is not None else decision_authoring.read_test_sheet(
            current.dmn_xml, current.file_name, max_bytes=settings().upload_max_bytes)
        return render_template("decision_editor/edit.html", current=current, versions=_versions(s, decision_id),
                               draft_xml=draft_xml, tests=tests, problems=problems or [], comment=comment,
                               sign=_sign_box(s, sign_error), active_nav="decisions"), status


@bp.get("/<decision_id>")
def edit(decision_id: str):
    return _edit_page(decision_id)


@bp.get("/<decision_id>/v<int:number>.dmn")
def source(decision_id: str, number: int):
    with transaction() as s:
        xml = _version(s, decision_id, number).dmn_xml
    return Response(xml, mimetype="application/xml")


def _tests_from_form() -> list[dict]:
    raw = request.form.get("tests", "[]")
    if len(raw) > MAX_TESTS_FIELD:
        raise ValidationFailed(f"the test sheet is longer than {MAX_TESTS_FIELD} characters", field="tests")
    try:
        rows = json.loads(raw)
    except json.JSONDecodeError:
        raise ValidationFailed("the test sheet is not JSON", field="tests") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValidationFailed("the test sheet is a list of rows", field="tests")
    return decision_authoring.parse_cases(rows)


def _document(current: DecisionVersion, xml: str, cases: list[dict]) -> specs.Document:
    """The edited table with the page's test sheet written into it."""
    content = decision_authoring.with_test_sheet(xml, current.file_name, cases,
                                                 max_bytes=settings().upload_max_bytes)
    return specs.Document(current.file_name, content)


def _problems(items) -> list[dict]:
    return [{"element_id": p.element_id, "line": p.line, "message": p.reason, "file": p.file} for p in items]


def _same_decision(result, decision_id: str) -> list[dict]:
    if list(result.decisions) == [decision_id]:
        return []
    return [{"element_id": None, "line": None, "file": None,
             "message": _("The file must hold the decision %(id)s (it holds: %(found)s).", id=decision_id,
                          found=", ".join(result.decisions) or "—")}]


def _field_problem(exc: ValidationFailed) -> list[dict]:
    return [{"element_id": d.get("field"), "line": None, "file": None, "message": d["message"]}
            for d in exc.details] or [{"element_id": None, "line": None, "file": None, "message": exc.message}]


@bp.post("/<decision_id>/validate")
def validate(decision_id: str):
    """Verification findings and test-sheet results of the edited table (JSON for the page)."""
    with transaction() as s:
        current = _version(s, decision_id)
        try:
            doc = _document(current, request.form.get("xml", ""), _tests_from_form())
        except ValidationFailed as exc:
            return jsonify({"ok": False, "problems": _field_problem(exc)})
        except (specs.XmlRefused, TableRefused) as exc:
            return jsonify({"ok": False, "problems": _problems([exc.problem])})
        result = validate_documents(s, [doc], max_bytes=settings().upload_max_bytes)
        problems = _problems(result.problems) or _same_decision(result, decision_id)
        passed = len(result.decisions[decision_id].table.tests) if not problems else 0
        warnings = _problems(result.warnings)
    return jsonify({"ok": not problems, "problems": problems, "warnings": warnings, "tests_passed": passed})


@bp.post("/<decision_id>/try")
def try_inputs(decision_id: str):
    """The edited table's answer for the inputs given (JSON object), as the runtime would give it."""
    with transaction() as s:
        _version(s, decision_id)
    try:
        given = decision_authoring.parse_cases([{"id": "trial", "given": request.form.get("given", "{}")}])[0]["given"]
    except ValidationFailed as exc:
        return jsonify({"ok": False, "error": exc.message})
    return jsonify(decision_authoring.try_table(request.form.get("xml", ""), f"{decision_id}.dmn", given,
                                                max_bytes=settings().upload_max_bytes))


@bp.post("/<decision_id>/deploy")
def deploy(decision_id: str):
    """Deploy the edited table as a new version: verified, its examples passing, signed ("approved"),
    audited; the processes whose latest version runs it get new versions pinning it."""
    xml = request.form.get("xml", "")
    comment = (request.form.get("comment") or "").strip()
    try:
        cases = _tests_from_form()
    except ValidationFailed as exc:
        return _edit_page(decision_id, draft_xml=xml, draft_tests=_raw_rows(), problems=_field_problem(exc),
                          comment=comment, status=422)
    if not comment:
        return _edit_page(decision_id, draft_xml=xml, draft_tests=_rows(cases), comment=comment, status=422,
                          problems=[{"element_id": None, "line": None,
                                     "message": _("Say what changed and why: the comment is required.")}])
    try:
        with signing_transaction(sessions(), signing_policy()) as s:
            current = _version(s, decision_id)
            doc = _document(current, xml, cases)
            user = get_user(s, current_user.id)
            result = deploy_documents(s, actor_of(user), [doc], comment=comment, skip_unchanged=True,
                                      max_bytes=settings().upload_max_bytes)
            deployed = [d for d in result.decisions_deployed if d.decision_id == decision_id]
            others = [d.decision_id for d in result.decisions_deployed if d.decision_id != decision_id]
            if others:
                raise DeploymentRefused(_("The file must hold the decision %(id)s (it holds: %(found)s).",
                                          id=decision_id, found=", ".join(others)), details=[])
            if not deployed or not dmndiff.diff(current.dmn_xml, deployed[0].dmn_xml):  # dmn-js rewrites files
                raise DeploymentRefused(_("The table is unchanged: there is nothing to deploy."), details=[])
            table = deployed[0]
            sign(s, user, password=request.form.get("password") or None,
                 totp_code=(request.form.get("totp_code") or "").strip(), meaning=DEPLOY_MEANING,
                 record_type="decision_version", record_id=f"{decision_id}:v{table.version}",
                 record={"decision_id": decision_id, "version": table.version,
                         "content_sha256": table.content_sha256, "comment": comment,
                         "processes": [f"{v.process_id}:v{v.version}" for v in result.deployed]},
                 policy=signing_policy(), signing_session_id=session.get("signing_session_id"), comment=comment)
            number, processes = table.version, [f"{v.process_id} v{v.version}" for v in result.deployed]
    except DeploymentRefused as exc:  # before ValidationFailed: it is one
        problems = [{"element_id": d.get("element_id"), "line": d.get("line"), "file": d.get("file"),
                     "message": d.get("reason") or d.get("message")} for d in exc.details] \
            or [{"element_id": None, "line": None, "file": None, "message": exc.message}]
        return _edit_page(decision_id, draft_xml=xml, draft_tests=_rows(cases), problems=problems,
                          comment=comment, status=422)
    except (ValidationFailed, specs.XmlRefused, TableRefused) as exc:
        problems = _field_problem(exc) if isinstance(exc, ValidationFailed) else _problems([exc.problem])
        return _edit_page(decision_id, draft_xml=xml, draft_tests=_rows(cases), problems=problems,
                          comment=comment, status=422)
    except SignatureError as exc:
        return _edit_page(decision_id, draft_xml=xml, draft_tests=_rows(cases), comment=comment,
                          sign_error=signature_error_text(exc), status=422)
    flash(_("Deployed the decision table %(decision)s version %(version)s; new process versions: %(processes)s.",
            decision=decision_id, version=number, processes=", ".join(processes) or "—"), "success")
    return redirect(url_for("decision_editor.edit", decision_id=decision_id))


def _raw_rows() -> list[dict]:
    """The page's test-sheet rows as sent, to show again after a refusal (nothing is lost)."""
    raw = request.form.get("tests") or "[]"
    try:
        rows = json.loads(raw) if len(raw) <= MAX_TESTS_FIELD else []
    except json.JSONDecodeError:
        return []
    return [{k: str(r.get(k) or "") for k in ("id", "rule", "given", "expect")}
            for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def _rows(cases: list[dict]) -> list[dict]:
    return [{"id": c["id"], "rule": c.get("rule") or "", "given": json.dumps(c["given"], ensure_ascii=False),
             "expect": json.dumps(c["expect"], ensure_ascii=False)} for c in cases]


@bp.get("/<decision_id>/diff")
def diff(decision_id: str):
    """Columns, rules and test cases added, removed and changed between versions ``a`` and ``b``."""
    try:
        a, b = int(request.args.get("a", "")), int(request.args.get("b", ""))
    except ValueError:
        abort(400)
    with transaction() as s:
        old, new = _version(s, decision_id, a), _version(s, decision_id, b)
        return render_template("decision_editor/diff.html", old=old, new=new,
                               changes=dmndiff.diff(old.dmn_xml, new.dmn_xml), active_nav="decisions")
