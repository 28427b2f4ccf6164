"""The shipped diagrams and forms: parse, validate, render-ready, bilingual, consistent."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from audit.policy import MEANINGS

ROOT = Path(__file__).resolve().parents[2]
BPMN_DIR = ROOT / "bpmn"
FORMS_DIR = ROOT / "forms"
PROCESSES = ("change_control", "deviation", "capa", "batch_release", "audit_review")
ROLES = {"operator", "process_engineer", "production_manager", "qa_engineer", "qa_manager", "regulatory",
         "auditor", "admin"}
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
FLOW_NODES = ("startEvent", "endEvent", "intermediateCatchEvent", "boundaryEvent", "userTask", "serviceTask",
              "callActivity", "exclusiveGateway", "parallelGateway", "scriptTask", "businessRuleTask")


def _tree(pid: str):
    return etree.parse(str(BPMN_DIR / f"{pid}.bpmn"), etree.XMLParser(resolve_entities=False, no_network=True))


@pytest.fixture(scope="module")
def parser():
    p = SpiffBpmnParser(validator=VALIDATOR)
    p.add_bpmn_files(sorted(str(f) for f in BPMN_DIR.glob("*.bpmn")))
    p.add_dmn_files(sorted(str(f) for f in BPMN_DIR.glob("*.dmn")))
    return p


@pytest.mark.parametrize("pid", PROCESSES)
def test_diagram_parses_with_the_spiff_validator(parser, pid):
    spec = parser.get_spec(pid)
    assert spec.name == pid
    subs = parser.get_subprocess_specs(pid)
    assert set(subs) == ({"capa"} if pid == "deviation" else set())


@pytest.mark.parametrize("pid", PROCESSES)
def test_lanes_are_roles_and_every_node_is_in_a_lane(pid):
    tree = _tree(pid)
    lanes = tree.findall(".//bpmn:lane", NS)
    assert lanes and {lane.get("name") for lane in lanes} <= ROLES
    in_lanes = {ref.text for ref in tree.findall(".//bpmn:lane/bpmn:flowNodeRef", NS)}
    nodes = {el.get("id") for tag in FLOW_NODES for el in tree.findall(f".//bpmn:process/bpmn:{tag}", NS)}
    assert nodes == in_lanes


@pytest.mark.parametrize("pid", PROCESSES)
def test_every_element_has_diagram_interchange(pid):
    tree = _tree(pid)
    shapes = {s.get("bpmnElement") for s in tree.findall(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement") for e in tree.findall(".//bpmndi:BPMNEdge", NS)}
    nodes = {el.get("id") for tag in FLOW_NODES for el in tree.findall(f".//bpmn:process/bpmn:{tag}", NS)}
    lanes = {lane.get("id") for lane in tree.findall(".//bpmn:lane", NS)}
    flows = {f.get("id") for f in tree.findall(".//bpmn:sequenceFlow", NS)}
    assert nodes | lanes <= shapes
    assert flows == edges
    for edge in tree.findall(".//bpmndi:BPMNEdge", NS):
        assert len(edge.findall("{http://www.omg.org/spec/DD/20100524/DI}waypoint")) >= 2


@pytest.mark.parametrize("pid", PROCESSES)
def test_tasks_and_gateway_flows_are_named(pid):
    tree = _tree(pid)
    for tag in ("userTask", "serviceTask", "callActivity", "startEvent", "endEvent"):
        for el in tree.findall(f".//bpmn:{tag}", NS):
            assert el.get("name"), f"{pid}: {tag} {el.get('id')} has no name"
    for gw in tree.findall(".//bpmn:exclusiveGateway", NS):
        outgoing = gw.findall("bpmn:outgoing", NS)
        if len(outgoing) > 1:
            assert gw.get("name"), gw.get("id")
            for out in outgoing:
                flow = tree.find(f".//bpmn:sequenceFlow[@id='{out.text}']", NS)
                assert flow.get("name"), f"{pid}: flow {out.text} out of {gw.get('id')} has no name"


def _user_task_forms(pid: str) -> dict[str, dict[str, str]]:
    out = {}
    for task in _tree(pid).findall(".//bpmn:userTask", NS):
        props = {p.get("name"): p.get("value") for p in task.findall(".//spiffworkflow:property", NS)}
        out[task.get("id")] = props
    return out


@pytest.mark.parametrize("pid", PROCESSES)
def test_every_user_task_names_an_existing_valid_form(pid):
    for task_id, props in _user_task_forms(pid).items():
        name = props.get("formJsonSchemaFilename")
        assert name == f"{task_id}.json", task_id
        schema = json.loads((FORMS_DIR / name).read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        assert props.get("signatureMeaning") in MEANINGS, task_id


def _walk_titles(schema: dict, where: str):
    assert schema.get("title") and schema.get("x-title-zh"), f"{where} lacks an English or Chinese title"
    for name, prop in schema.get("properties", {}).items():
        _walk_titles(prop, f"{where}.{name}")
    if isinstance(schema.get("items"), dict) and schema["items"].get("properties"):
        for name, prop in schema["items"]["properties"].items():
            _walk_titles(prop, f"{where}[].{name}")


def test_forms_are_bilingual_and_read_only_context_is_never_required():
    used = {name for pid in PROCESSES for props in _user_task_forms(pid).values()
            for name in [props["formJsonSchemaFilename"]]}
    shipped = {p.name for p in FORMS_DIR.glob("*.json")}
    assert used <= shipped
    for name in used:
        schema = json.loads((FORMS_DIR / name).read_text(encoding="utf-8"))
        _walk_titles(schema, name)
        read_only = {k for k, v in schema["properties"].items() if v.get("readOnly")}
        assert not read_only & set(schema.get("required", [])), name


def test_form_validation_names_the_field():
    validator = Draft202012Validator(json.loads((FORMS_DIR / "disposition_lots.json").read_text(encoding="utf-8")))
    bad = {"dispositions": [{"lot_number": "L1", "disposition": "rework", "justification": "x",
                             "rework_instructions": ""}], "capa_required": False}
    errors = list(validator.iter_errors(bad))
    assert [list(e.absolute_path) for e in errors] == [["dispositions", 0, "rework_instructions"]]
