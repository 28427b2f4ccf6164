"""Read-only diagrams in the reader's language: bilingual names show the reader's half, lanes their
role's label, the shipped diagrams' other names their catalogue translation; the modeler's source
stays as stored."""
from __future__ import annotations

from pathlib import Path

from flask_babel import force_locale
from lxml import etree

from web import diagram_labels

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def _names(xml: str) -> dict[str, str]:
    root = etree.fromstring(xml.encode())
    return {el.get("id"): el.get("name") for el in root.iter() if isinstance(el.tag, str)
            and el.tag.startswith(BPMN) and el.get("name")}


def test_a_chinese_reader_sees_every_label_of_the_deviation_diagram_in_chinese(app):
    xml = Path("bpmn/deviation.bpmn").read_text(encoding="utf-8")
    stored = _names(xml)
    with app.test_request_context("/"), force_locale("zh_CN"):
        shown = _names(diagram_labels.for_viewer(xml))
    assert shown.keys() == stored.keys()
    english = {i: n for i, n in shown.items() if n.isascii() and any(c.isalpha() for c in n)}
    assert english == {"call_capa": "CAPA"}  # the term is used as is in Chinese
    assert {"偏差分级", "QA 工程师", "偏差已关闭", "是"} <= set(shown.values())


def test_an_english_reader_sees_the_english_half_and_role_labels(app):
    xml = Path("bpmn/deviation.bpmn").read_text(encoding="utf-8")
    with app.test_request_context("/"), force_locale("en"):
        shown = set(_names(diagram_labels.for_viewer(xml)).values())
    assert "Triage and classify" in shown and "QA engineer" in shown and "Deviation closed" in shown
    assert not any("/ 偏差" in n for n in shown) and "qa_engineer" not in shown
