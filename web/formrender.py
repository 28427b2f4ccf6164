"""Task forms from their JSON Schema: fields to render, request data back to JSON, per-field errors.

Server-side rendering with client-side hints (``required``, ``maxlength``, ``min``/``max``,
``pattern`` from the schema); the authority is JSON Schema validation, done here first so the
user sees every problem next to its field in their language, and again by the engine.

Field names are JSON paths joined with dots: ``qa_decision``, ``capa_fishbone.man``,
``dispositions.0.lot_number``. ``readOnly`` properties are the task's context (shown, never
read back from the request).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from jsonschema import Draft202012Validator

LONG_TEXT = 200  # strings allowed longer than this get a textarea
EXTRA_ROWS = 1  # empty rows offered below the filled ones in a table


def _types(schema: dict) -> list[str]:
    t = schema.get("type", "string")
    return [t] if isinstance(t, str) else list(t)


def _main_type(schema: dict) -> str:
    return next((t for t in _types(schema) if t != "null"), "null")


def label_of(schema: dict, key: str, lang: str) -> str:
    if lang == "zh" and schema.get("x-title-zh"):
        return schema["x-title-zh"]
    return schema.get("title") or key.replace("_", " ").capitalize()


def description_of(schema: dict, lang: str) -> str | None:
    if lang == "zh" and schema.get("x-description-zh"):
        return schema["x-description-zh"]
    return schema.get("description")


def enum_label(schema: dict, value, lang: str) -> str:
    labels = (schema.get("x-enum-labels") or {}).get(str(value)) or {}
    return labels.get(lang) or labels.get("en") or str(value)


@dataclass
class Field:
    """One input (or group of inputs) of a rendered form."""

    name: str
    key: str
    schema: dict
    label: str
    kind: str  # text textarea select checkbox integer number date lines group table readonly
    required: bool = False
    value: Any = None
    description: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)
    children: list[Field] = field(default_factory=list)  # group members
    columns: list[Field] = field(default_factory=list)  # table: one Field per column (header)
    rows: list[list[Field]] = field(default_factory=list)  # table rows
    errors: list[str] = field(default_factory=list)

    @property
    def nullable(self) -> bool:
        return "null" in _types(self.schema)

    @property
    def attrs(self) -> dict:
        """HTML hints from the schema (the browser checks them before the server does)."""
        s, out = self.schema, {}
        if self.required and self.kind in ("text", "textarea", "select", "integer", "number", "date") \
                and s.get("minLength", 1) > 0:
            out["required"] = True
        if "maxLength" in s:
            out["maxlength"] = s["maxLength"]
        if "minimum" in s:
            out["min"] = s["minimum"]
        if "maximum" in s:
            out["max"] = s["maximum"]
        return out


def build(schema: dict, data: dict | None, lang: str, errors: dict[str, list[str]] | None = None) -> list[Field]:
    """Fields for ``schema`` filled with ``data`` (and ``errors`` keyed by field name)."""
    data = data or {}
    errors = errors or {}
    required = set(schema.get("required", []))
    return [_field(key, sub, data.get(key, sub.get("default")), key in required, key, lang, errors)
            for key, sub in schema.get("properties", {}).items()]


def _field(key: str, schema: dict, value, required: bool, name: str, lang: str,
           errors: dict[str, list[str]]) -> Field:
    f = Field(name=name, key=key, schema=schema, label=label_of(schema, key, lang), kind="text",
              required=required, value=value, description=description_of(schema, lang),
              errors=list(errors.get(name, [])))
    kind = _main_type(schema)
    if schema.get("readOnly"):
        f.kind = "readonly"
    elif "enum" in schema:
        f.kind = "select"
        f.options = [(str(v), enum_label(schema, v, lang)) for v in schema["enum"] if v is not None]
    elif kind == "boolean":
        f.kind = "checkbox"
    elif kind in ("integer", "number"):
        f.kind = kind
    elif kind == "string":
        f.kind = "date" if schema.get("format") == "date" else (
            "textarea" if schema.get("maxLength", 10_000) > LONG_TEXT else "text")
    elif kind == "object":
        f.kind = "group"
        sub_required = set(schema.get("required", []))
        value = value if isinstance(value, dict) else {}
        f.children = [_field(k, s, value.get(k, s.get("default")), k in sub_required, f"{name}.{k}", lang, errors)
                      for k, s in schema.get("properties", {}).items()]
    elif kind == "array":
        items = schema.get("items", {})
        value = value if isinstance(value, list) else []
        if _main_type(items) == "object":
            f.kind = "table"
            cols = items.get("properties", {})
            col_required = set(items.get("required", []))
            f.columns = [_field(k, s, None, k in col_required, f"{name}.#.{k}", lang, {})
                         for k, s in cols.items()]
            count = len(value) + EXTRA_ROWS if schema.get("maxItems", 1) else len(value)
            f.rows = [[_field(k, s, (value[i] if i < len(value) and isinstance(value[i], dict) else {}).get(k),
                              k in col_required, f"{name}.{i}.{k}", lang, errors)
                       for k, s in cols.items()] for i in range(count)]
        else:
            f.kind = "lines"
            f.value = "\n".join(str(v) for v in value)
    return f


def parse(schema: dict, form) -> dict:
    """The JSON data a submitted form means, shaped and typed by ``schema`` (readOnly skipped)."""
    out = {}
    for key, sub in schema.get("properties", {}).items():
        if sub.get("readOnly"):
            continue
        value = _parse_value(sub, key, form)
        if value is not _MISSING:
            out[key] = value
    return out


_MISSING = object()


def _parse_value(schema: dict, name: str, form):
    kind = _main_type(schema)
    nullable = "null" in _types(schema)
    if kind == "boolean":
        return form.get(name) in ("on", "true", "1", "yes")
    if kind == "object":
        return {k: v for k, s in schema.get("properties", {}).items()
                if (v := _parse_value(s, f"{name}.{k}", form)) is not _MISSING}
    if kind == "array":
        items = schema.get("items", {})
        if _main_type(items) == "object":
            return _parse_rows(items, name, form)
        lines = [line.strip() for line in form.get(name, "").splitlines() if line.strip()]
        if _main_type(items) in ("integer", "number"):
            return [_number(line, _main_type(items)) for line in lines]
        return lines
    raw = form.get(name)
    if raw is None:
        return None if nullable else _MISSING
    raw = raw.strip() if kind != "string" or "enum" in schema or schema.get("format") else raw
    if raw == "" and (nullable or kind in ("integer", "number") or "enum" in schema
                      or schema.get("format") == "date"):
        return None if nullable else _MISSING
    if kind in ("integer", "number"):
        return _number(raw, kind)
    return raw


def _number(raw: str, kind: str):
    try:
        return int(raw) if kind == "integer" else float(raw)
    except ValueError:
        return raw  # left as text: validation reports "must be a number" on the field


def _parse_rows(items: dict, name: str, form) -> list:
    indices = sorted({int(k.split(".")[1]) for k in form.keys()
                      if k.startswith(name + ".") and k.split(".")[1].isdigit()})
    rows = []
    for i in indices:
        row = {k: v for k, s in items.get("properties", {}).items()
               if (v := _parse_value(s, f"{name}.{i}.{k}", form)) is not _MISSING}
        # A row left completely empty is not a row (tables offer spare rows).
        meaningful = [v for k, v in row.items() if v not in ("", None, False, [], {})]
        if meaningful:
            rows.append(row)
    return rows


def validate(schema: dict, data: dict) -> dict[str, list[str]]:
    """Problems per field name, in the user's language (empty = valid)."""
    problems: dict[str, list[str]] = {}
    for error in Draft202012Validator(schema).iter_errors(data):
        for path, message in _explain(error):
            problems.setdefault(path, [])
            if message not in problems[path]:
                problems[path].append(message)
    return problems


def _explain(error):
    if error.validator in ("allOf", "anyOf", "oneOf") and error.context:
        for sub in error.context:
            yield from _explain(sub)
        return
    path = ".".join(str(p) for p in error.absolute_path)
    v, schema_value = error.validator, error.validator_value
    if v == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        yield (f"{path}.{missing}" if path else missing), _("This field is required.")
    elif v == "minLength":
        yield path, (_("This field is required.") if schema_value == 1
                     else _("Enter at least %(n)s characters.", n=schema_value))
    elif v == "maxLength":
        yield path, _("Enter at most %(n)s characters.", n=schema_value)
    elif v == "enum":
        yield path, _("Choose one of the offered values.")
    elif v == "const":
        yield path, _("This value is not allowed here.")
    elif v == "type":
        yield path, {"integer": _("Enter a whole number."), "number": _("Enter a number."),
                     "boolean": _("Tick or untick the box.")}.get(
            schema_value if isinstance(schema_value, str) else "", _("This value has the wrong type."))
    elif v == "minimum":
        yield path, _("Enter %(n)s or more.", n=schema_value)
    elif v == "maximum":
        yield path, _("Enter %(n)s or less.", n=schema_value)
    elif v == "minItems":
        yield path, _("Add at least %(n)s entries.", n=schema_value)
    elif v == "maxItems":
        yield path, _("Enter at most %(n)s entries.", n=schema_value)
    elif v == "uniqueItems":
        yield path, _("Each entry may appear only once.")
    elif v == "format":
        yield path, _("Enter a valid date (YYYY-MM-DD).") if schema_value == "date" else _("The format is not valid.")
    elif v == "pattern":
        yield path, _("The format is not valid.")
    elif v == "additionalProperties":
        yield path, _("This form contains fields it does not expect.")
    else:
        yield path, error.message


def apply_errors(fields: list[Field], details: list[dict]) -> list[str]:
    """Attach engine ``ValidationFailed.details`` to fields; returns messages for no known field."""
    index: dict[str, Field] = {}

    def walk(fs):
        for f in fs:
            index[f.name] = f
            walk(f.children)
            for row in f.rows:
                walk(row)

    walk(fields)
    unplaced = []
    for d in details:
        target = index.get(str(d.get("field") or "").replace("/", ".").strip("."))
        if target is not None:
            target.errors.append(d.get("message", ""))
        else:
            unplaced.append(d.get("message", ""))
    return unplaced


def offer_choices(fields: list[Field], path: str, options: list[tuple[str, str]]) -> None:
    """Turn the free-text field at ``path`` (``name`` or ``table.column``) into a select of ``options``.

    The choices come from the task's context (e.g. a review's exception keys); the schema, and so
    validation here and in the engine, is unchanged.
    """
    head, _dot, column = path.partition(".")
    for f in fields:
        if f.key != head:
            continue
        cells = [f] if not column else [c for c in [*f.columns, *(c for row in f.rows for c in row)]
                                         if c.key == column]
        for c in cells:
            c.kind, c.options = "select", list(options)
