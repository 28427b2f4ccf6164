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


CHANGE = {
    "id": 1, "number": "CC-2026-0001", "title": "Tighten UV intensity on RT-IS200", "status": "submitted",
    "urgency": "routine", "reason": "Capability study", "effective_from": "2026-12-13",
    "revisions": [{"kind": "routing", "code": "RT-IS200", "label": "B", "revision_id": 4, "replaces": "A",
                   "released_at": None}],
    "changed_objects": [],
    "impact": {
        "subjects": [{"kind": "routing", "code": "RT-IS200", "label": "B"}],
        "changes": [{"subject": "routing RT-IS200 rev B", "area": "parameter", "operation": "UVB",
                     "change": "UV intensity: lsl 50.0 → 52.0"}],
        "products": [{"code": "IS-200", "name": "Infusion set", "revision": "A", "why": "its routing changes"}],
        "boms": [],
        "routings": [{"code": "RT-IS200", "name": "Infusion set routing", "revision": "A", "why": "rev B replaces"}],
        "operations": [{"routing": "RT-IS200", "revision": "A", "sequence": 20, "code": "UVB", "name": "UV bonding",
                        "why": "carries the parameter"}],
        "documents": [{"code": "SOP-002", "title": "UV bonding", "doc_type": "sop", "purpose": "sop",
                       "operations": ["RT-IS200/UVB"], "changed": False, "revision": "A"}],
        "inspection_items": [{"routing": "RT-IS200", "operation": "PULL", "name": "Pull strength", "kind": "variable"}],
        "lots": [{"lot_number": "IS200-2611-004", "status": "planned", "item": "FG-IS200", "bom_revision": None,
                  "routing_revision": None, "why": "lot of affected item FG-IS200"}],
        "training": [{"document": "SOP-002", "current_revision": "A", "trained_users": ["li.na", "zhang.wei"]}],
        "counts": {"products": 1, "boms": 0},
    },
    "flags": {"validation": [{"type": "OQ/PQ", "reason": "critical parameter changed"}],
              "regulatory_notification": [], "training": [],
              "validation_required": True, "regulatory_notification_required": False},
}
CHANGE_PANEL = '{% from "tasks/_context.html" import panel %}{{ panel("change", c, "Change", lang) }}'


def test_change_panel_groups_the_impact_by_kind_with_links(app):
    with app.test_request_context("/"):
        html = render_template_string(CHANGE_PANEL, c=CHANGE, lang="en")
    groups = re.findall(r'<details data-impact="(\w+)"[^>]*>\s*<summary>([^<]+)<span class="badge[^"]*">(\d+)</span>', html)
    assert [(k, n) for k, _label, n in groups] == [
        ("products", "1"), ("boms", "0"), ("routings", "1"), ("operations", "1"), ("documents", "1"),
        ("inspection_items", "1"), ("lots", "1"), ("training", "1")]
    assert 'href="/masterdata/products/IS-200"' in html and 'href="/masterdata/routings/RT-IS200"' in html
    assert 'href="/masterdata/documents/SOP-002"' in html and 'href="/lots/IS200-2611-004"' in html
    assert re.search(r'data-flag="validation"><span class="badge badge-warn">Yes', html)
    assert re.search(r'data-flag="regulatory_notification"><span class="badge badge-ok">No', html)
    assert "UV intensity: lsl 50.0 → 52.0" in html and "li.na, zhang.wei" in html
    assert "inspection items" not in html and "counts" not in html  # no raw keys


def test_change_panel_in_chinese_translates_statuses(app):
    with app.test_request_context("/"), force_locale("zh_CN"):
        html = render_template_string(CHANGE_PANEL, c=CHANGE, lang="zh")
    assert ">planned<" not in html and "planned" not in re.sub(r'<[^>]+>', '', html)


def test_deviation_chart_is_drawn_as_a_chart_with_the_limits(app):
    chart = {"parameter": "UV intensity", "operation": "UVB", "routing": "RT-IS200", "unit": "mW/cm2",
             "target": 60, "lsl": 50, "usl": 70, "lcl": None, "ucl": None,
             "points": [{"lot": f"IS200-2610-00{i}", "value": v, "unit": "mW/cm2", "in_spec": 50 <= v <= 70,
                         "measured_at": "2026-10-0{i}T08:00:00+00:00", "lsl": 50, "usl": 70}
                        for i, v in enumerate([61.0, 63.5, 74.5], start=1)]}
    with app.test_request_context("/"):
        html = render_template_string(
            '{% from "tasks/_context.html" import panel %}{{ panel("measurement_chart", c, "Chart", "en") }}', c=chart)
    assert '<figure class="chart" id="measurement-chart"><svg' in html
    assert html.count('class="point"') == 2 and html.count('class="flagged"') == 1
    assert "USL 70" in html and "LSL 50" in html
    assert 'href="/lots/IS200-2610-003#measurements"' in html
    assert "measured_at" not in html  # not the generic table


def test_audit_review_panel_counts_categories_and_links_each_event(app):
    review = {"id": 3, "period_start": "2026-11-01T00:00:00.000000Z", "period_end": "2026-12-01T00:00:00.000000Z",
              "head_seq": 812, "head_hash": "ab" * 32, "status": "assembled", "counts": {"correction": 2},
              "events": [{"seq": 40 + i, "recorded_at": "2026-11-0{}T08:00:00.000000Z".format(i + 1),
                          "category": "correction", "actor": "Li Na", "actor_kind": "user",
                          "action": "measurement.corrected", "object": "measurement:7", "reason": "typo"}
                         for i in range(2)]}
    with app.test_request_context("/"), force_locale("zh_CN"):
        html = render_template_string(
            '{% from "tasks/_context.html" import panel %}{{ panel("audit_review", a, "Review", "zh") }}', a=review)
    assert re.search(r'data-category="correction"><span class="badge badge-warn">2<', html)
    assert 'href="/audit/entries/40"' in html and 'href="/audit/entries/812"' in html
    assert ">correction<" not in html and "更正" in html


def test_audit_review_findings_pick_the_listed_events(app):
    events = [{"seq": 40 + i, "recorded_at": "2026-11-01T08:00:00.000000Z", "category": "correction",
               "actor": "Li Na", "actor_kind": "user", "action": "measurement.corrected", "object": "m:7",
               "reason": "typo"} for i in range(3)]
    context = {"audit_review": {"events": events, "counts": {"correction": 3}}}
    fields = formrender.build(forms.load("review_audit_trail"), task_context.first_rows(context), "en")
    for path, options in task_context.choices(context).items():
        formrender.offer_choices(fields, path, options)
    with app.test_request_context("/"):
        html = render_template_string(FIELDS, fields=fields)
    for i, e in enumerate(events):  # one finding row per event, its entry chosen from the list
        select = re.search(rf'<select id="f-event_findings\.{i}\.seq".*?</select>', html, re.S).group(0)
        assert re.findall(r'<option value="([^"]*)"', select) == ["", "40", "41", "42"]
        assert f'<option value="{e["seq"]}" selected>#{e["seq"]} · measurement.corrected · Li Na' in select
    many = {"audit_review": {"events": [dict(events[0], seq=n) for n in range(1, task_context.FINDING_ROWS + 2)]}}
    assert task_context.first_rows(many) == {}  # too many to prefill: the rows are added as answered
    assert len(task_context.choices(many)["event_findings.seq"]) == task_context.FINDING_ROWS + 1
