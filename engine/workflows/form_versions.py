"""Task forms saved in the form builder as immutable versions, and how diagrams pin them.

A form is a JSON Schema (``forms/``). The builder saves each edit as a new ``FormVersion`` (audited,
never changed). A diagram names a form by ``formJsonSchemaFilename``: ``name`` (or ``name.json``)
means the latest stored version when there is one, else the form file; ``name@3`` means stored
version 3. Deploying rewrites every unpinned name that has stored versions to its latest pin, so a
process version keeps the exact forms it was deployed with and the BPMN diff shows a form change
as a changed property. Every reader of a task's form goes through :func:`load_form`.
"""
from __future__ import annotations

import hashlib
import json
import re

from lxml import etree
from sqlalchemy import bindparam, func, select

import forms
from audit import chain
from engine.errors import NotFound, ValidationFailed
from engine.workflows.models import FormVersion

MAX_SCHEMA_BYTES = 64 * 1024
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*)@(?P<version>[1-9][0-9]{0,5})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,119}$")
_PROPERTY = ("{http://spiffworkflow.org/bpmn/schema/1.0/core}property")


def base_name(name: str) -> str:
    """``x``, ``x.json`` and ``x@3`` → ``x``."""
    match = _PIN.match(name)
    return match.group("name") if match else name.removesuffix(".json")


def _row(session, name: str, version: int) -> FormVersion | None:
    return session.scalar(select(FormVersion).where(FormVersion.name == name, FormVersion.version == version))


def latest(session, name: str) -> FormVersion | None:
    """The newest stored version of form ``name``, or None."""
    return session.scalar(select(FormVersion).where(FormVersion.name == base_name(name))
                          .order_by(FormVersion.version.desc()).limit(1))


def versions(session, name: str) -> list[FormVersion]:
    """The stored versions of form ``name``, newest first."""
    return list(session.scalars(select(FormVersion).where(FormVersion.name == base_name(name))
                                .order_by(FormVersion.version.desc())))


# Core statements on the table, run on the session's connection: one column of a row written once
# (and flushed by ``save``), so no ORM entity loading and no autoflush is needed to read it.
_FORMS = FormVersion.__table__
_PINNED_TEXT = select(_FORMS.c.schema_json).where(_FORMS.c.name == bindparam("name"),
                                                  _FORMS.c.version == bindparam("version"))
_LATEST_TEXT = (select(_FORMS.c.schema_json).where(_FORMS.c.name == bindparam("name"))
                .order_by(_FORMS.c.version.desc()).limit(1))


def _stored_text(session, name: str) -> str | None:
    """The schema text of the stored version a task named ``name`` uses: the pinned one
    (NotFound when it is not stored), else the latest; None when the form is a file."""
    match = _PIN.match(name)
    if not match:
        return session.connection().execute(_LATEST_TEXT, {"name": base_name(name)}).scalar()
    text = session.connection().execute(
        _PINNED_TEXT, {"name": match.group("name"), "version": int(match.group("version"))}).scalar()
    if text is None:
        raise NotFound(f"form {name!r} is not stored", field="form")
    return text


def load_form(session, name: str) -> dict:
    """The schema a task named ``name`` uses: a pinned stored version, else the latest stored
    version, else the form file (NotFound naming the form when there is none)."""
    text = _stored_text(session, name)
    if text is not None:
        return json.loads(text)
    try:
        return forms.load(name)
    except forms.FormError as exc:
        raise NotFound(str(exc), field="form") from None


def validate(session, name: str, data) -> list[dict]:
    """Field-named errors of ``data`` against the form a task named ``name`` uses (the form found
    as :func:`load_form` finds it; its checked validator is reused, not rebuilt per call)."""
    text = _stored_text(session, name)
    if text is not None:
        return forms.validate_text(text, data)
    try:
        return forms.validate(name, data)
    except forms.FormError as exc:
        raise NotFound(str(exc), field="form") from None


def draft_forms(session) -> dict[str, dict]:
    """Stored schemas by the names a diagram may use: every ``name@version``, and ``name`` for
    the latest (what a deployment will pin); the lint and the simulation read forms from here."""
    out: dict[str, dict] = {}
    for row in session.scalars(select(FormVersion).order_by(FormVersion.name, FormVersion.version)):
        schema = json.loads(row.schema_json)
        out[row.pin] = schema
        out[row.name] = schema
    return out


def names(session) -> list[str]:
    """Every form a task may name: the form files and the stored forms (``x.json``)."""
    stored = {f"{n}.json" for n in session.scalars(select(FormVersion.name).distinct())}
    return sorted(set(forms.names()) | stored)


def valid_name(name: str) -> bool:
    """True for a form name the builder may save (letters, digits, _ and -)."""
    return bool(_NAME.match(name))


def check_task_schema(schema) -> str:
    """The schema's stored text; ValidationFailed (field "schema") unless it is a valid JSON
    Schema of an object with properties, within the size limit."""
    try:
        forms.check_schema(schema)
    except forms.FormError as exc:
        raise ValidationFailed(str(exc), field="schema") from None
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        raise ValidationFailed("a task form is an object schema with properties", field="schema")
    text = json.dumps(schema, ensure_ascii=False, sort_keys=False, indent=1)
    if len(text.encode("utf-8")) > MAX_SCHEMA_BYTES:
        raise ValidationFailed(f"the form is larger than {MAX_SCHEMA_BYTES // 1024} KiB", field="schema")
    return text


def save_form_version(session, actor, name: str, schema, comment: str) -> FormVersion:
    """Store ``schema`` as the next version of form ``name`` (audited; never changed after)."""
    name = name.removesuffix(".json")
    if not valid_name(name):
        raise ValidationFailed("a form name is letters, digits, _ and - (at most 120)", field="name")
    if not (comment or "").strip():
        raise ValidationFailed("say what changed and why", field="comment")
    text = check_task_schema(schema)
    previous = latest(session, name)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if previous is not None and previous.content_sha256 == digest:
        raise ValidationFailed(f"nothing changed since {previous.pin}", field="schema")
    # the unique (name, version) constraint refuses a concurrent save of the same number
    number = (session.scalar(select(func.max(FormVersion.version)).where(FormVersion.name == name)) or 0) + 1
    row = FormVersion(name=name, version=number, schema_json=text, content_sha256=digest,
                      created_by_id=actor.id, created_by_name=actor.name, comment=comment.strip())
    session.add(row)
    session.flush()
    chain.append(session, actor, "form.version_saved", "form", row.pin, reason=row.comment,
                 before={"version": previous.pin, "sha256": previous.content_sha256} if previous else None,
                 after={"version": row.pin, "sha256": digest, "fields": list(schema["properties"]),
                        "required": schema.get("required", [])})
    return row


def pin_forms(session, root: etree._Element) -> dict[str, str]:
    """Rewrite, in the parsed diagram ``root``, each unpinned form name that has stored versions
    to its latest pin; returns {old value: pin} (empty when the diagram names only files/pins)."""
    changed: dict[str, str] = {}
    for prop in root.iter(_PROPERTY):
        value = prop.get("value") or ""
        if prop.get("name") != "formJsonSchemaFilename" or not value or _PIN.match(value):
            continue
        row = latest(session, value)
        if row is not None:
            prop.set("value", row.pin)
            changed[value] = row.pin
    return changed


def forms_named(root: etree._Element) -> dict[str, str]:
    """Task id → the form name its ``formJsonSchemaFilename`` gives, in a parsed diagram."""
    out = {}
    for prop in root.iter(_PROPERTY):
        if prop.get("name") == "formJsonSchemaFilename" and prop.get("value"):
            task = prop.getparent().getparent().getparent()  # property < properties < extensionElements < task
            if task is not None and task.get("id"):
                out[task.get("id")] = prop.get("value")
    return out


def _field_facts(schema: dict, key: str) -> dict:
    prop = schema.get("properties", {}).get(key, {})
    conditional = any(key in (rule.get("then") or {}).get("required", []) for rule in schema.get("allOf", []))
    return {"type": prop.get("type"), "format": prop.get("format"), "title": prop.get("title"),
            "title_zh": prop.get("x-title-zh"), "choices": prop.get("enum"), "labels": prop.get("x-enum-labels"),
            "max_length": prop.get("maxLength"), "shown_when": prop.get("x-show-when"),
            "required": "yes" if key in schema.get("required", []) else ("when shown" if conditional else "no")}


def schema_changes(old: dict, new: dict) -> list[str]:
    """Field by field, what changed from form ``old`` to form ``new`` (order included)."""
    before, after = list(old.get("properties", {})), list(new.get("properties", {}))
    out = [f"field {k} added" for k in after if k not in before]
    out += [f"field {k} removed" for k in before if k not in after]
    for key in (k for k in after if k in before):
        a, b = _field_facts(old, key), _field_facts(new, key)
        out += [f"{key}.{fact}: {json.dumps(a[fact], ensure_ascii=False)} → {json.dumps(b[fact], ensure_ascii=False)}"
                for fact in a if a[fact] != b[fact]]
    kept_before, kept_after = [k for k in before if k in after], [k for k in after if k in before]
    if kept_before != kept_after:
        out.append(f"order: {', '.join(kept_before)} → {', '.join(kept_after)}")
    for fact in ("title", "x-title-zh"):
        if old.get(fact) != new.get(fact):
            out.append(f"form {fact}: {old.get(fact)} → {new.get(fact)}")
    return out


def form_changes(session, old_root: etree._Element, new_root: etree._Element) -> list[dict]:
    """The forms whose pin or content differs between two diagram versions, per task:
    ``{"task", "old", "new", "changes"}`` (a form that cannot be loaded says so)."""
    old_forms, new_forms = forms_named(old_root), forms_named(new_root)
    out = []
    for task, name in new_forms.items():
        previous = old_forms.get(task)
        if previous == name and _PIN.match(name or ""):
            continue  # the same pinned version: identical
        try:
            before = load_form(session, previous) if previous else {"properties": {}}
            after = load_form(session, name)
        except NotFound as exc:
            out.append({"task": task, "old": previous, "new": name, "changes": [exc.message]})
            continue
        changes = schema_changes(before, after)
        if changes or previous != name:
            out.append({"task": task, "old": previous, "new": name, "changes": changes})
    return out
