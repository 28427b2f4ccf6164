"""What the browser's decision-table editor needs from the engine: the test sheet read from and
written into a table, and a trial run of an edited table on example inputs (nothing stored).

dmn-js edits the table itself and keeps our ``sealtrail:test`` extension elements as it found them;
the page edits the test sheet beside it as rows, and ``with_test_sheet`` writes those rows into the
table before it is validated or deployed, so the sheet travels with the table it tests.
"""
from __future__ import annotations

import json
import re

from lxml import etree

from engine.errors import ValidationFailed
from engine.workflows import xmlsafe
from engine.workflows.decision_tables import SEALTRAIL, TableRefused, read_table
from engine.workflows.decisions import Parser, evaluate_alone
from engine.workflows.xmlsafe import XmlRefused

MAX_CASES = 200
MAX_CASE_JSON = 16 * 1024
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$")


def read_test_sheet(xml: bytes | str, file_name: str, *, max_bytes: int) -> list[dict]:
    """The table's test cases as rows ``{"id", "given", "expect", "rule"}`` (JSON texts for the page)."""
    table = read_table(xmlsafe.parse(xml, file_name, max_bytes=max_bytes), file_name)
    return [{"id": c.id, "given": json.dumps(c.given, ensure_ascii=False), "rule": c.rule or "",
             "expect": json.dumps(c.expect, ensure_ascii=False)} for c in table.tests]


def _json_object(text: str, field: str) -> dict:
    if len(text) > MAX_CASE_JSON:
        raise ValidationFailed(f"longer than {MAX_CASE_JSON} characters", field=field)
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"not JSON: {exc.msg} (column {exc.colno})", field=field) from None
    if not isinstance(value, dict):
        raise ValidationFailed("must be a JSON object ({\"name\": value, …})", field=field)
    return value


def parse_cases(rows: list[dict]) -> list[dict]:
    """Test-sheet rows from the page, checked (ids, JSON objects, sizes); ValidationFailed names the field."""
    if len(rows) > MAX_CASES:
        raise ValidationFailed(f"at most {MAX_CASES} test cases", field="tests")
    out, seen = [], set()
    for i, row in enumerate(rows):
        ident = str(row.get("id") or "").strip()
        if not _ID.match(ident):
            raise ValidationFailed("an id is a letter or _ then letters, digits, _ . - (at most 100)",
                                   field=f"tests[{i}].id")
        if ident in seen:
            raise ValidationFailed(f"test id {ident} is used twice", field=f"tests[{i}].id")
        seen.add(ident)
        rule = str(row.get("rule") or "").strip()
        if rule and not _ID.match(rule):
            raise ValidationFailed("not a rule id", field=f"tests[{i}].rule")
        out.append({"id": ident, "rule": rule or None,
                    "given": _json_object(str(row.get("given") or ""), f"tests[{i}].given"),
                    "expect": _json_object(str(row.get("expect") or ""), f"tests[{i}].expect")})
    return out


def with_test_sheet(xml: bytes | str, file_name: str, cases: list[dict], *, max_bytes: int) -> bytes:
    """The table with its test sheet replaced by ``cases`` (from ``parse_cases``)."""
    root = xmlsafe.parse(xml, file_name, max_bytes=max_bytes)
    decision = read_table(root, file_name).element
    dmn = etree.QName(decision).namespace
    extensions = decision.find(f"{{{dmn}}}extensionElements")
    if extensions is None:
        extensions = etree.Element(f"{{{dmn}}}extensionElements")
        decision.insert(1 if decision.find(f"{{{dmn}}}description") is not None else 0, extensions)
    for old in extensions.findall(f"{{{SEALTRAIL}}}test"):
        extensions.remove(old)
    for case in cases:
        el = etree.SubElement(extensions, f"{{{SEALTRAIL}}}test", id=case["id"])
        if case.get("rule"):
            el.set("rule", case["rule"])
        etree.SubElement(el, f"{{{SEALTRAIL}}}given").text = json.dumps(case["given"], ensure_ascii=False)
        etree.SubElement(el, f"{{{SEALTRAIL}}}expect").text = json.dumps(case["expect"], ensure_ascii=False)
    if not len(extensions):
        decision.remove(extensions)
    etree.cleanup_namespaces(root, top_nsmap={"sealtrail": SEALTRAIL})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def try_table(xml: bytes | str, file_name: str, given: dict, *, max_bytes: int) -> dict:
    """Run the table on ``given`` as the runtime would (same engine, policy and limits), storing
    nothing: ``{"ok", "rules", "rule_descriptions", "outputs", "default", "error"}``."""
    try:
        root = xmlsafe.parse(xml, file_name, max_bytes=max_bytes)
        decision_id = read_table(root, file_name).decision_id
        parser = Parser()
        parser.add_dmn_xml(root, file_name)
        engine = parser.get_engine(decision_id, None)
    except (XmlRefused, TableRefused) as exc:
        return {"ok": False, "error": str(getattr(exc, "problem", exc).reason)}
    except Exception as exc:  # noqa: BLE001 - SpiffWorkflow's parser errors: the author reads them
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    try:
        found = evaluate_alone(engine, given)
    except Exception as exc:  # noqa: BLE001 - the table's refusal is the answer
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "rules": [r.id for r in found.rules], "default": found.defaulted,
            "rule_descriptions": [r.description or "" for r in found.rules],
            "outputs": json.loads(json.dumps(found.outputs, default=str))}
