"""Hardened XML parsing for uploaded BPMN, and locating elements by id.

SpiffWorkflow's ``add_bpmn_str`` calls a bare ``etree.fromstring``; we parse first, with entity
resolution, network access and DTD loading off, any DOCTYPE refused and the size capped, and hand
SpiffWorkflow the parsed tree.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

DEFAULT_MAX_BYTES = 2 * 1024 * 1024
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    """One finding about a BPMN file: file, element id, line number, reason; the element's name;
    ``severity`` "error" (the file is refused) or "warning" (shown, deploy goes ahead)."""

    file: str
    element_id: str | None
    line: int | None
    reason: str
    name: str | None = None
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        named = f" ({self.name})" if self.name else ""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{self.element_id or '-'}{named}: {self.reason}"

    def as_dict(self) -> dict:
        return {"file": self.file, "element_id": self.element_id, "line": self.line, "reason": self.reason,
                "name": self.name, "severity": self.severity}


class XmlRefused(Exception):
    """The document is not acceptable XML; ``problem`` says where and why."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           dtd_validation=False, remove_comments=False)


def parse(content: bytes | str, file_name: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse ``content`` safely; raise XmlRefused for oversize, DOCTYPE or malformed XML."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    if len(data) > max_bytes:
        raise XmlRefused(Problem(file_name, None, None, f"file is {len(data)} bytes, above the {max_bytes}-byte limit"))
    if not data.strip():
        raise XmlRefused(Problem(file_name, None, None, "file is empty"))
    doctype = _DOCTYPE.search(data)
    if doctype:
        line = data.count(b"\n", 0, doctype.start()) + 1
        raise XmlRefused(Problem(file_name, None, line, "DOCTYPE declarations are not allowed in BPMN files"))
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise XmlRefused(Problem(file_name, None, line, f"malformed XML: {exc.msg}")) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise XmlRefused(Problem(file_name, None, 1, "DOCTYPE declarations are not allowed in BPMN files"))
    for node in root.iter(etree.Entity):
        raise XmlRefused(Problem(file_name, None, node.sourceline, "entity references are not allowed"))
    return root


def line_index(root: etree._Element) -> dict[str, int]:
    """Element id → line number (lxml's ``sourceline``) for every element with an id."""
    index: dict[str, int] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        ident = el.get("id")
        if ident and ident not in index and el.sourceline:
            index[ident] = el.sourceline
    return index
