"""Differences between two BPMN versions: elements added, removed and changed (by element id).

Only the semantic model counts (``bpmn:`` elements with an id: tasks, events, gateways, flows,
lanes, with their names, attributes, conditions, scripts and extension properties); the
diagram's layout (``bpmndi:``) is ignored, so moving a shape is not a change.
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from engine.workflows import xmlsafe

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI_NAMESPACES = {"http://www.omg.org/spec/BPMN/20100524/DI", "http://www.omg.org/spec/DD/20100524/DI",
                 "http://www.omg.org/spec/DD/20100524/DC"}


@dataclass(frozen=True)
class Change:
    element_id: str
    kind: str  # added | removed | changed
    element_type: str
    name: str
    details: tuple[str, ...] = ()


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _fingerprint(el) -> dict[str, str]:
    """What defines an element semantically: attributes and the text of non-identified children."""
    facts = {f"@{_local(k)}": v for k, v in el.attrib.items()}
    for child in el.iter():
        if child is el or not isinstance(child.tag, str):
            continue
        if etree.QName(child).namespace in DI_NAMESPACES:
            continue
        if child.get("id") and _local(child.tag) not in ("incoming", "outgoing"):
            continue  # identified children are compared on their own
        path = _local(child.tag)
        key = path + "".join(f"[{k}={v}]" for k, v in sorted(child.attrib.items()) if _local(k) == "name")
        text = (child.text or "").strip()
        attrs = ",".join(f"{_local(k)}={v}" for k, v in sorted(child.attrib.items()))
        facts[key] = (facts.get(key, "") + "|" if key in facts else "") + f"{attrs} {text}".strip()
    return facts


def _elements(xml: str) -> dict[str, etree._Element]:
    root = xmlsafe.parse(xml.encode("utf-8"), "version.bpmn")
    return {el.get("id"): el for el in root.iter()
            if isinstance(el.tag, str) and etree.QName(el).namespace == BPMN and el.get("id")
            and _local(el.tag) not in ("definitions",)}


def diff(old_xml: str, new_xml: str) -> list[Change]:
    """Changes from ``old_xml`` to ``new_xml``, in the order of the new document (removals last)."""
    old, new = _elements(old_xml), _elements(new_xml)
    changes = []
    for eid, el in new.items():
        if eid not in old:
            changes.append(Change(eid, "added", _local(el.tag), el.get("name") or ""))
            continue
        before, after = _fingerprint(old[eid]), _fingerprint(el)
        if before != after or _local(old[eid].tag) != _local(el.tag):
            keys = sorted(set(before) | set(after))
            details = tuple(f"{k.lstrip('@')}: {before.get(k, '—')} → {after.get(k, '—')}"
                            for k in keys if before.get(k) != after.get(k))
            if _local(old[eid].tag) != _local(el.tag):
                details = (f"type: {_local(old[eid].tag)} → {_local(el.tag)}",) + details
            changes.append(Change(eid, "changed", _local(el.tag), el.get("name") or "", details))
    for eid, el in old.items():
        if eid not in new:
            changes.append(Change(eid, "removed", _local(el.tag), el.get("name") or ""))
    return changes
