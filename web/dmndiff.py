"""Differences between two versions of a decision table: the hit policy, input and output columns,
rules (by id: cells, outputs, description, position) and test cases (by id), as a reviewer reads
them. The drawing (``dmndi:``) is ignored.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from engine.workflows import xmlsafe
from engine.workflows.decision_tables import Table, read_table


@dataclass(frozen=True)
class Change:
    element_id: str
    kind: str  # added | removed | changed
    element_type: str  # table | input | output | rule | test
    name: str
    details: tuple[str, ...] = ()


def _table(xml: str) -> Table:
    return read_table(xmlsafe.parse(xml, "table.dmn", max_bytes=len(xml.encode("utf-8")) + 1), "table.dmn")


def _show(value) -> str:
    return "-" if value is None or str(value).strip() in ("", "-") else str(value).strip()


def _columns(kind: str, old: list, new: list) -> dict[str, dict]:
    out = {}
    for side, columns in (("old", old), ("new", new)):
        for c in columns:
            facts = {"label": c.label, "expression" if kind == "input" else "name": c.name, "typeRef": c.type_ref,
                     "allowed values": _show(c.allowed_text)}
            if kind == "output":
                facts["default"] = _show(c.default_text)
            out.setdefault(c.id, {})[side] = (c.label or c.name, facts)
    return out


def _rules(table: Table) -> dict[str, tuple[str, dict]]:
    heads = [c.label or c.name for c in table.inputs]
    outs = [c.name or c.label for c in table.outputs]
    rows = {}
    for row in table.rows:
        facts = {"position": str(row.number), "description": row.description}
        facts.update({f"if {h}": _show(t) for h, t in zip(heads, row.inputs)})
        facts.update({f"then {o}": _show(t) for o, t in zip(outs, row.outputs)})
        rows[row.id] = (row.description, facts)
    return rows


def _tests(table: Table) -> dict[str, tuple[str, dict]]:
    return {t.id: (t.id, {"given": json.dumps(t.given, sort_keys=True, ensure_ascii=False),
                          "expect": json.dumps(t.expect, sort_keys=True, ensure_ascii=False),
                          "rule": t.rule or "-"}) for t in table.tests}


def _compare(kind: str, pairs: dict[str, dict]) -> list[Change]:
    out = []
    for ident, sides in pairs.items():
        if "old" not in sides:
            name, facts = sides["new"]
            out.append(Change(ident, "added", kind, name, tuple(f"{k}: {v}" for k, v in facts.items() if v)))
        elif "new" not in sides:
            out.append(Change(ident, "removed", kind, sides["old"][0]))
        else:
            (_, a), (name, b) = sides["old"], sides["new"]
            details = tuple(f"{k}: {a.get(k, '-')} → {b.get(k, '-')}" for k in dict.fromkeys([*a, *b])
                            if a.get(k) != b.get(k))
            if details:
                out.append(Change(ident, "changed", kind, name, details))
    return out


def _pairs(old: dict, new: dict) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for side, items in (("old", old), ("new", new)):
        for ident, value in items.items():
            out.setdefault(ident, {})[side] = value
    return out


def diff(old_xml: str, new_xml: str) -> list[Change]:
    """What changed from ``old_xml`` to ``new_xml`` (both deployed, hence readable tables)."""
    old, new = _table(old_xml), _table(new_xml)
    changes = []
    if (old.hit_policy, old.name) != (new.hit_policy, new.name):
        details = [f"{k}: {a} → {b}" for k, a, b in (("hit policy", old.hit_policy, new.hit_policy),
                                                    ("name", old.name, new.name)) if a != b]
        changes.append(Change(new.decision_id, "changed", "table", new.name, tuple(details)))
    changes += _compare("input", _columns("input", old.inputs, new.inputs))
    changes += _compare("output", _columns("output", old.outputs, new.outputs))
    changes += _compare("rule", _pairs(_rules(old), _rules(new)))
    changes += _compare("test", _pairs(_tests(old), _tests(new)))
    return changes
