"""The form builder (#14): edit a task form's JSON Schema field by field — order, required flags,
choices with English and Chinese labels, fields shown only for an answer — with a live preview
rendered in both languages by the task page's own renderer; saving stores an immutable, audited
form version (engine.workflows.form_versions) that the next deployment of a diagram pins."""
from __future__ import annotations

import json

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import NotFound, ValidationFailed
from engine.users import get_user
from engine.workflows import form_versions
from engine.workflows.instances import actor_of
from flask_login import current_user
from web import formrender
from web.authz import blueprint_rule
from web.db import transaction

bp = Blueprint("formbuilder", __name__, url_prefix="/editor/forms")
blueprint_rule(bp, "bpmn.edit")


def _blank(name: str) -> dict:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": name.replace("_", " ").capitalize(),
            "x-title-zh": "", "type": "object", "additionalProperties": False, "properties": {}, "required": []}


def _valid_name(name: str) -> str:
    name = name.removesuffix(".json")
    if not form_versions.valid_name(name):
        abort(404)
    return name


@bp.get("/")
def index():
    new = (request.args.get("name") or "").strip()
    if new:  # "New form": open the builder on that name
        return redirect(url_for("formbuilder.edit", name=_valid_name(new)))
    with transaction() as s:
        rows = [{"name": n.removesuffix(".json"), "latest": form_versions.latest(s, n)} for n in form_versions.names(s)]
    return render_template("form_builder/index.html", forms=rows, active_nav="editor")


def _page(name: str, schema: dict, *, comment: str = "", error: str | None = None, status: int = 200):
    with transaction() as s:
        history = form_versions.versions(s, name)
    return render_template("form_builder/edit.html", name=name, schema=schema, history=history, comment=comment,
                           error=error, active_nav="editor"), status


@bp.get("/<name>")
def edit(name: str):
    name = _valid_name(name)
    with transaction() as s:
        try:
            schema = form_versions.load_form(s, name)
        except NotFound:
            schema = _blank(name)
    return _page(name, schema)


@bp.post("/<name>")
def save(name: str):
    """Save the edited schema as the form's next version (the comment says what changed and why)."""
    name = _valid_name(name)
    comment = (request.form.get("comment") or "").strip()
    try:
        schema = json.loads(request.form.get("schema") or "")
    except ValueError as exc:
        return _page(name, _blank(name), comment=comment, error=_("The form is not JSON: %(error)s", error=exc),
                     status=422)
    try:
        with transaction() as s:
            row = form_versions.save_form_version(s, actor_of(get_user(s, current_user.id)), name, schema, comment)
            pin = row.pin
    except ValidationFailed as exc:
        return _page(name, schema if isinstance(schema, dict) else _blank(name), comment=comment,
                     error=exc.message, status=422)
    flash(_("Saved %(pin)s. Diagrams that name %(name)s pin it when they are next deployed.", pin=pin, name=name),
          "success")
    return redirect(url_for("formbuilder.edit", name=name))


@bp.post("/preview")
def preview():
    """The form as a task page shows it, in English and in Chinese (fragments for the builder)."""
    try:
        schema = json.loads(request.form.get("schema") or "")
        form_versions.check_task_schema(schema)
    except ValueError as exc:
        return jsonify({"ok": False, "message": str(exc)}), 422
    except ValidationFailed as exc:
        return jsonify({"ok": False, "message": exc.message}), 422
    html = {lang: render_template("form_builder/_preview.html", fields=formrender.build(schema, {}, lang),
                                  lang=lang, title=formrender.label_of(schema, "", lang))
            for lang in ("en", "zh")}
    return jsonify({"ok": True, "en": html["en"], "zh": html["zh"]})
