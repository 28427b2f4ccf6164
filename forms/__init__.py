"""Task forms: one JSON Schema per user task, loaded by name and validated with ``jsonschema``.

A BPMN user task names its form with the ``formJsonSchemaFilename`` property; ``load(name)``
returns that schema and ``validate(name, data)`` returns a list of field-named errors (empty when
the data is valid). Forms live in this package's directory; more directories can be searched by
setting ``SEALTRAIL_FORMS_PATH`` (``os.pathsep``-separated, searched first). Imports nothing of
Sealtrail.
"""
from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

_PACKAGE_DIR = Path(__file__).resolve().parent
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_CACHE: dict[Path, tuple[float, dict, Draft202012Validator]] = {}


class FormError(Exception):
    """A form is missing, unreadable or not a valid JSON Schema."""


def search_path() -> list[Path]:
    """The directories searched for forms, in order."""
    extra = os.environ.get("SEALTRAIL_FORMS_PATH", "")
    dirs = [Path(p) for p in extra.split(os.pathsep) if p]
    return dirs + [_PACKAGE_DIR]


def _file_name(name: str) -> str:
    if not name or not _NAME.match(name) or ".." in name:
        raise FormError(f"invalid form name {name!r}")
    return name if name.endswith(".json") else f"{name}.json"


def find(name: str) -> Path | None:
    """The file of form ``name`` (with or without ``.json``), or None when no directory has it."""
    file_name = _file_name(name)
    for directory in search_path():
        path = directory / file_name
        if path.is_file():
            return path
    return None


def names() -> list[str]:
    """The file names (``x.json``) of every form on the search path, sorted, each once."""
    found = set()
    for directory in search_path():
        if directory.is_dir():
            found.update(p.name for p in directory.glob("*.json") if _NAME.match(p.name))
    return sorted(found)


def exists(name: str) -> bool:
    """True when form ``name`` exists (it may still be an invalid schema; see ``check``)."""
    try:
        return find(name) is not None
    except FormError:
        return False


def _compiled(name: str) -> tuple[dict, Draft202012Validator]:
    path = find(name)
    if path is None:
        raise FormError(f"form {name!r} not found (searched {', '.join(map(str, search_path()))})")
    mtime = path.stat().st_mtime
    cached = _CACHE.get(path)
    if cached and cached[0] == mtime:
        return cached[1], cached[2]
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FormError(f"form {name!r} is not readable JSON: {exc}") from exc
    if not isinstance(schema, dict):
        raise FormError(f"form {name!r} is not a JSON object")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise FormError(f"form {name!r} is not a valid JSON Schema: {exc.message}") from exc
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    _CACHE[path] = (mtime, schema, validator)
    return schema, validator


def load(name: str) -> dict:
    """The JSON Schema of form ``name`` (a fresh copy the caller may modify)."""
    schema, _ = _compiled(name)
    return json.loads(json.dumps(schema))


def check(name: str) -> None:
    """Raise ``FormError`` unless form ``name`` exists and is a valid JSON Schema."""
    _compiled(name)


def _field(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate(name: str, data) -> list[dict]:
    """Errors of ``data`` against form ``name``: ``[{"field": "a.b[0]", "message": ...}]``."""
    _, validator = _compiled(name)
    return _errors(validator, data)


def check_schema(schema) -> None:
    """Raise ``FormError`` unless ``schema`` (a form not stored as a file) is a valid JSON Schema object."""
    if not isinstance(schema, dict):
        raise FormError("a form is a JSON object")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise FormError(f"not a valid JSON Schema: {exc.message}") from exc


def validate_schema(schema: dict, data) -> list[dict]:
    """Errors of ``data`` against ``schema`` (a form given as data), like ``validate``."""
    check_schema(schema)
    return _errors(Draft202012Validator(schema, format_checker=FormatChecker()), data)


def validate_text(text: str, data) -> list[dict]:
    """Errors of ``data`` against the form stored as the JSON text ``text``, like ``validate``."""
    return _errors(_compiled_text(text), data)


@lru_cache(maxsize=256)
def _compiled_text(text: str) -> Draft202012Validator:
    # Keyed by the schema's own text, so an entry can never be stale: checking a schema against
    # the metaschema costs more than validating a form's data with it.
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise FormError(f"not readable JSON: {exc}") from exc
    check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def _errors(validator: Draft202012Validator, data) -> list[dict]:
    errors = []
    for err in sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.message)):
        path = list(err.absolute_path)
        if err.validator == "required" and isinstance(err.instance, dict):
            for prop in err.validator_value:
                if prop not in err.instance:
                    errors.append({"field": _field(path + [prop]), "message": "is required"})
            continue
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = set(err.schema.get("properties", {}))
            patterns = err.schema.get("patternProperties", {})
            for prop in err.instance:
                if prop not in allowed and not any(re.search(p, prop) for p in patterns):
                    errors.append({"field": _field(path + [prop]), "message": "is not a field of this form"})
            continue
        errors.append({"field": _field(path) or "(form)", "message": err.message})
    return errors


__all__ = ["FormError", "check", "check_schema", "exists", "find", "load", "search_path", "validate",
           "validate_schema", "validate_text"]
