"""Form versions saved in the form builder (#14): immutable and audited, pinned by a deployment
as ``name@version``, and what a task validates against after later edits of the form."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from audit.models import AuditEntry
from engine.errors import ValidationFailed
from engine.workflows import complete_task, open_tasks, start_instance
from engine.workflows.form_versions import draft_forms, load_form, names, save_form_version, versions
from tests.engine.conftest import FORMS_DIR
from tests.engine.test_engine_run import REQUEST

ACK = json.loads((FORMS_DIR / "t_ack.json").read_text())


def _with_required_note(schema: dict) -> dict:
    return {**schema, "required": ["note"], "properties": {"note": {"type": "string", "minLength": 3}}}


def test_saving_creates_numbered_audited_versions(world, session):
    first = save_form_version(session, world.actor("alice"), "t_ack", ACK, "first stored version")
    second = save_form_version(session, world.actor("alice"), "t_ack.json", _with_required_note(ACK),
                               "a note is required")
    assert (first.pin, second.pin) == ("t_ack@1", "t_ack@2")
    assert [v.version for v in versions(session, "t_ack")] == [2, 1]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "form.version_saved")
                            .order_by(AuditEntry.id.desc())).first()
    assert entry.object_id == "t_ack@2" and entry.reason == "a note is required"
    assert load_form(session, "t_ack@1") == ACK and load_form(session, "t_ack")["required"] == ["note"]
    assert draft_forms(session)["t_ack"] == load_form(session, "t_ack@2")
    assert "t_ack.json" in names(session)
    with pytest.raises(ValidationFailed, match="nothing changed"):
        save_form_version(session, world.actor("alice"), "t_ack", _with_required_note(ACK), "again")
    with pytest.raises(ValidationFailed) as bad:
        save_form_version(session, world.actor("alice"), "t_ack", {"type": "no-such-type"}, "broken")
    assert bad.value.field == "schema"
    for name in ("../x", "a@1", ""):
        with pytest.raises(ValidationFailed):
            save_form_version(session, world.actor("alice"), name, ACK, "bad name")


def test_a_deployment_pins_the_latest_version_and_keeps_it(world, session):
    save_form_version(session, world.actor("alice"), "t_ack", _with_required_note(ACK), "note required")
    [version] = world.deploy("approval.bpmn").deployed
    assert 'value="t_ack@1"' in version.bpmn_xml and 'value="t_request"' in version.bpmn_xml
    # a later edit of the form does not change what the deployed version's task accepts
    save_form_version(session, world.actor("alice"), "t_ack", ACK, "note optional again")
    instance = start_instance(session, world.actor("alice"), "t_approval", user=world.user("alice"))
    [request] = open_tasks(session, instance.id)
    complete_task(session, task_id=request.id, data=REQUEST, **world.signing("alice"))
    [approve] = open_tasks(session, instance.id)
    complete_task(session, task_id=approve.id, data={"approved": True, "comment": "ok"}, **world.signing("quinn"))
    [ack] = open_tasks(session, instance.id)
    assert ack.form == "t_ack@1"
    with pytest.raises(ValidationFailed, match="note"):
        complete_task(session, task_id=ack.id, data={}, **world.signing("pat"))
    complete_task(session, task_id=ack.id, data={"note": "seen"}, **world.signing("pat"))


def test_a_stored_form_without_a_file_passes_the_lint(world, session):
    from engine.workflows import Document
    from engine.workflows.deploy import validate_documents
    from tests.engine.conftest import BPMN_DIR

    text = (BPMN_DIR / "approval.bpmn").read_text().replace('value="t_ack"', 'value="t_builder_only.json"')
    doc = Document("approval.bpmn", text.encode())
    assert not validate_documents(session, [doc]).ok
    save_form_version(session, world.actor("alice"), "t_builder_only", ACK, "made in the builder")
    assert validate_documents(session, [doc]).ok


def test_the_version_diff_lists_form_changes_field_by_field(world, session):
    from engine.workflows import xmlsafe
    from engine.workflows.form_versions import form_changes

    save_form_version(session, world.actor("alice"), "t_ack", ACK, "as the file")
    [v1] = world.deploy("approval.bpmn").deployed
    changed = _with_required_note(ACK)
    changed["properties"]["seen_on"] = {"type": "string", "format": "date", "title": "Seen on"}
    save_form_version(session, world.actor("alice"), "t_ack", changed, "note required, date added")
    [v2] = world.deploy("approval.bpmn").deployed  # same diagram: the new pin makes it a new version
    assert 'value="t_ack@2"' in v2.bpmn_xml and v2.version == v1.version + 1
    [ack] = form_changes(session, xmlsafe.parse(v1.bpmn_xml.encode(), "a"), xmlsafe.parse(v2.bpmn_xml.encode(), "b"))
    assert (ack["task"], ack["old"], ack["new"]) == ("ut_ack", "t_ack@1", "t_ack@2")
    assert "field seen_on added" in ack["changes"]
    assert 'note.required: "no" → "yes"' in ack["changes"]
    assert any(c.startswith("note.max_length") for c in ack["changes"])
