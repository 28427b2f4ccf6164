"""Designed task context: the release review panel (checklist, exception rows with links) and the
disposition form picking exceptions from the review instead of typed keys."""
from __future__ import annotations

import re

import forms
from flask import render_template_string
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict

from engine.processes.release_checks import CHECKS
from web import formrender, task_context

FAILED = {"parameter_limits": 1, "equipment": 1, "training": 1}
EXCEPTIONS = [
    {"key": "parameter_limits:ASSY/press_force:17", "check": "parameter_limits",
     "message": "ASSY/press_force = 118 N outside limits [80, 110] N",
     "details": {"parameter": "ASSY/press_force", "measurement_id": 17}, "action": None,
     "justification": None, "deviation_id": None},
    {"key": "equipment:calibration:EQ-LEAK", "check": "equipment",
     "message": "equipment EQ-LEAK was used outside its calibration validity on 2026-03-02",
     "details": {"equipment": "EQ-LEAK", "kind": "calibration", "dates": ["2026-03-02"]}, "action": None,
     "justification": None, "deviation_id": None},
    {"key": "training:li.na:SOP-001", "check": "training",
     "message": "operator li.na was not trained on SOP-001 rev B when performing ASSY on 2026-03-02",
     "details": {"operator": "li.na", "document": "SOP-001"}, "action": None, "justification": None,
     "deviation_id": None},
]
REVIEW = {"id": 4, "round": 1, "status": "open", "lot": "IS200-2610-003", "item": "IS-200",
          "checks": [{"check": code, "title": en, "title_zh": zh, "passed": code not in FAILED,
                      "exceptions": FAILED.get(code, 0)} for code, en, zh in CHECKS],
          "exceptions": EXCEPTIONS, "exception_count": 3, "no_exceptions": False,
          "computed_at": "2026-03-03T08:00:00+00:00"}
PANEL = '{% from "tasks/_context.html" import panel %}{{ panel("release_review", r, "Review", lang) }}'
FIELDS = '{% from "tasks/_form_fields.html" import render_field %}{% for f in fields %}{{ render_field(f) }}{% endfor %}'


def test_release_review_panel_is_a_checklist_with_badges_and_linked_exception_rows(app):
    with app.test_request_context("/"):
        html = render_template_string(PANEL, r=REVIEW, lang="en")
    items = re.findall(r'<li data-check="(\w+)">\s*<span class="badge (badge-\w+)">(\w+)</span>', html)
    assert [(c, b, t) for c, b, t in items] == [
        (code, "badge-bad" if code in FAILED else "badge-ok", "Fail" if code in FAILED else "Pass")
        for code, _en, _zh in CHECKS]
    assert "7 of 10 checks passed" in html
    assert CHECKS[6][1] in html  # the training check's title, not its code
    rows = re.findall(r'<li data-exception="([^"]+)">', html)
    assert rows == [e["key"] for e in EXCEPTIONS]
    assert 'href="/lots/IS200-2610-003#measurements"' in html
    assert 'href="/masterdata/?kind=equipment"' in html
    assert 'href="/masterdata/documents/SOP-001"' in html
    assert "title_zh" not in html and "measurement_id" not in html  # no raw keys


def test_release_review_panel_in_chinese(app):
    with app.test_request_context("/"), force_locale("zh_CN"):
        html = render_template_string(PANEL, r=REVIEW, lang="zh")
    assert "所有参数均在规格限内" in html and "通过" in html and "不通过" in html
    assert "10 项检查中 7 项通过" in html and "Pass" not in html


def test_disposition_form_offers_the_review_exceptions_as_a_select(app):
    schema = forms.load("review_release_exceptions")
    context = {"release_review": REVIEW}
    fields = formrender.build(schema, task_context.first_rows(context), "en")
    for path, options in task_context.choices(context).items():
        formrender.offer_choices(fields, path, options)
    with app.test_request_context("/"):
        html = render_template_string(FIELDS, fields=fields)
    for i, e in enumerate(EXCEPTIONS):  # one row per exception, its key chosen, labelled by its message
        select = re.search(rf'<select id="f-exception_dispositions\.{i}\.key".*?</select>', html, re.S).group(0)
        assert re.findall(r'<option value="([^"]*)"', select) == ["", *(x["key"] for x in EXCEPTIONS)]
        assert f'<option value="{e["key"]}" selected>' in select
        assert e["message"] in select
    assert 'name="exception_dispositions.0.key" value=' not in html  # no free-text key input
    posted = MultiDict({"exception_dispositions.0.key": EXCEPTIONS[1]["key"],
                        "exception_dispositions.0.action": "justified",
                        "exception_dispositions.0.justification": "calibrated the next day, in tolerance",
                        "review_comment": ""})
    data = formrender.parse(schema, posted)
    assert data["exception_dispositions"] == [{"key": EXCEPTIONS[1]["key"], "action": "justified",
                                               "justification": "calibrated the next day, in tolerance"}]
    assert formrender.validate(schema, data) == {}


def test_other_contexts_offer_no_choices():
    assert task_context.choices({"impact": [1, 2]}) == {}
    assert task_context.first_rows({"release_review": None}) == {}
