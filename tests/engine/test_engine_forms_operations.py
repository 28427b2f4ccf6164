"""The forms loader and the operations registry (no database)."""
from __future__ import annotations

import json

import pytest

import forms
from engine.workflows import operations
from engine.workflows.operations import OperationContext, OperationError


def test_form_errors_are_field_named():
    assert forms.validate("t_request", {"number": "CR-1", "amount": 3, "reason": "fine"}) == []
    errors = forms.validate("t_request", {"number": "bad number!", "amount": "3", "details": {"meta": 1}, "x": 1})
    assert {e["field"] for e in errors} == {"number", "amount", "reason", "details.meta", "x"}
    assert {"field": "reason", "message": "is required"} in errors


def test_form_names_cannot_escape_the_form_directories(tmp_path, monkeypatch):
    (tmp_path / "good.json").write_text(json.dumps({"type": "object"}))
    (tmp_path / "broken.json").write_text(json.dumps({"type": "no-such-type"}))
    monkeypatch.setenv("SEALTRAIL_FORMS_PATH", str(tmp_path))
    assert forms.load("good") == {"type": "object"} and forms.exists("good.json")
    for name in ("../good", "/etc/passwd", "..", ""):
        assert not forms.exists(name)
        with pytest.raises(forms.FormError):
            forms.load(name)
    with pytest.raises(forms.FormError, match="not a valid JSON Schema"):
        forms.check("broken")


def test_operations_check_names_and_types():
    @operations.operation("test.scale")
    def scale(ctx: OperationContext, *, value: float, factor: int = 2, label: str | None = None) -> dict:
        return {"value": value * factor, "label": label}

    ctx = OperationContext(session=None, actor=None)
    assert operations.call(ctx, "test.scale", {"value": 1.5}) == {"value": 3.0, "label": None}
    with pytest.raises(OperationError) as err:
        operations.call(ctx, "test.scale", {"value": "1.5", "factor": True, "colour": "red"})
    fields = {d["field"] for d in err.value.details}
    assert fields == {"test.scale", "test.scale.value", "test.scale.factor"}
    with pytest.raises(OperationError, match="unknown service operation 'test.nope'"):
        operations.call(ctx, "test.nope", {})
    with pytest.raises(ValueError, match="already registered"):
        operations.operation("test.scale")(lambda ctx: None)


def test_failing_operation_reports_its_real_error_not_a_name_error():
    from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException

    from engine.workflows.script_env import SafeScriptEngine

    @operations.operation("test.explode")
    def explode(ctx: OperationContext) -> dict:
        raise RuntimeError("valve controller offline")

    class FakeSpec:
        bpmn_id = name = "st_explode"

    class FakeWorkflow:
        spec = type("S", (), {"file": "x.bpmn"})()
        top_workflow = None

    class FakeTask:
        data: dict = {}
        task_spec = FakeSpec()
        workflow = FakeWorkflow()

    FakeWorkflow.top_workflow = FakeTask.workflow
    FakeSpec.bpmn_name = "Explode"
    with pytest.raises(WorkflowTaskException) as err:
        SafeScriptEngine().call_service(FakeTask(), operation_name="test.explode", operation_params={})
    assert "RuntimeError: valve controller offline" in str(err.value)
    assert isinstance(err.value.__cause__, RuntimeError)
