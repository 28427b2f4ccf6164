"""JSON-Schema task forms: rendering, parsing the request back, per-field errors in two languages."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Babel, force_locale
from werkzeug.datastructures import MultiDict

from web import formrender

FORMS = Path("forms")


@pytest.fixture(scope="module")
def ctx():
    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(Path("web/translations").resolve())
    Babel(app)
    with app.test_request_context():
        yield


def schema(name):
    return json.loads((FORMS / f"{name}.json").read_text())


def test_every_shipped_form_renders_in_both_languages(ctx):
    for path in sorted(FORMS.glob("*.json")):
        s = json.loads(path.read_text())
        for lang in ("en", "zh"):
            fields = formrender.build(s, {}, lang)
            assert fields, path.name
            editable = [f for f in fields if f.kind != "readonly"]
            assert editable, f"{path.name} has nothing to fill in"
            for f in editable:
                assert f.label


def test_labels_and_enum_labels_follow_the_language(ctx):
    s = schema("approve_change_qa")
    en = {f.key: f for f in formrender.build(s, {}, "en")}
    zh = {f.key: f for f in formrender.build(s, {}, "zh")}
    assert en["qa_decision"].label == "Decision" and zh["qa_decision"].label == "决定"
    assert ("approve", "批准") in zh["qa_decision"].options
    assert en["qa_decision"].kind == "select" and en["change"].kind == "readonly"


def test_parse_types_values_and_skips_read_only(ctx):
    s = schema("approve_change_qa")
    form = MultiDict({"qa_decision": "approve", "qa_comment": "fine", "change": "injected"})
    data = formrender.parse(s, form)
    assert data == {"qa_decision": "approve", "qa_comment": "fine"}
    assert formrender.validate(s, data) == {}


def test_conditional_rule_reports_on_its_field(ctx):
    s = schema("approve_change_qa")
    data = formrender.parse(s, MultiDict({"qa_decision": "reject", "qa_comment": ""}))
    problems = formrender.validate(s, data)
    assert list(problems) == ["qa_comment"]
    with force_locale("zh_CN"):
        problems = formrender.validate(s, data)
    assert problems["qa_comment"] == ["此字段为必填项。"]


def test_missing_and_wrong_values(ctx):
    s = schema("approve_change_qa")
    problems = formrender.validate(s, formrender.parse(s, MultiDict({"qa_decision": "maybe"})))
    assert problems["qa_decision"] == ["Choose one of the offered values."]
    assert problems["qa_comment"] == ["This field is required."]


def test_tables_parse_rows_and_drop_empty_spare_rows(ctx):
    s = schema("plan_capa_actions")
    form = MultiDict({
        "capa_actions.0.kind": "corrective", "capa_actions.0.description": "Fix the fixture",
        "capa_actions.0.owner": "pe1", "capa_actions.0.due_date": "2026-12-31",
        "capa_actions.1.kind": "", "capa_actions.1.description": "", "capa_actions.1.owner": "",
        "capa_actions.1.due_date": "",
    })
    data = formrender.parse(s, form)
    assert len(data["capa_actions"]) == 1
    fields = {f.key: f for f in formrender.build(s, data, "en")}
    assert fields["capa_actions"].kind == "table" and len(fields["capa_actions"].rows) == 2


def test_table_cell_errors_land_on_the_cell(ctx):
    s = schema("disposition_lots")
    form = MultiDict({"dispositions.0.lot_number": "L-1", "dispositions.0.disposition": "rework",
                      "dispositions.0.justification": "bent", "dispositions.0.rework_instructions": ""})
    data = formrender.parse(s, form)
    problems = formrender.validate(s, data)
    assert "dispositions.0.rework_instructions" in problems
    fields = {f.key: f for f in formrender.build(s, data, "en", problems)}
    cell = {c.key: c for c in fields["dispositions"].rows[0]}["rework_instructions"]
    assert cell.errors


def test_numbers_booleans_dates_and_lines(ctx):
    s = schema("describe_capa")
    data = formrender.parse(s, MultiDict({"capa_source.type": "complaint", "capa_source.reference": "C-1",
                                          "capa_problem_statement": "x", "capa_effectiveness_days": "abc"}))
    assert data["capa_effectiveness_days"] == "abc"
    assert formrender.validate(s, data)["capa_effectiveness_days"] == ["Enter a whole number."]
    data = formrender.parse(s, MultiDict({"capa_source.type": "complaint", "capa_source.reference": "C-1",
                                          "capa_problem_statement": "x", "capa_effectiveness_days": "30"}))
    assert data["capa_effectiveness_days"] == 30 and data["capa_source"] == {"type": "complaint", "reference": "C-1"}
    s = schema("triage_deviation")
    data = formrender.parse(s, MultiDict({"affected_lots": "L-1\n\n L-2 \n"}))
    assert data["affected_lots"] == ["L-1", "L-2"]
    s = schema("assess_change")
    assert formrender.parse(s, MultiDict({}))["validation_required"] is False
    assert formrender.parse(s, MultiDict({"validation_required": "on"}))["validation_required"] is True


def test_engine_details_attach_to_fields(ctx):
    s = schema("approve_change_qa")
    fields = formrender.build(s, {}, "en")
    rest = formrender.apply_errors(fields, [{"field": "qa_comment", "message": "too short"},
                                            {"field": None, "message": "task already completed"}])
    assert rest == ["task already completed"]
    assert {f.key: f for f in fields}["qa_comment"].errors == ["too short"]
