"""Impact analysis walks the master-data graph from what changes to what it touches."""
from __future__ import annotations

import pytest

from engine.masterdata.models import BomLine, BomRevision, DocumentRevision, OperationParameter
from engine.processes.impact import analyse
from tests.processes.processes_plant import build_plant


@pytest.fixture()
def plant(session):
    return build_plant(session)


def codes(rows, key="code"):
    return sorted(r[key] for r in rows)


def test_component_bom_change_reaches_parent_bom_product_and_active_lots(session, plant):
    draft = BomRevision(bom_id=plant.bom_tube.id, label="B")
    draft.lines = [BomLine(position=10, component_id=plant.items["RESIN-01"].id, quantity=0.06, unit="kg")]
    session.add(draft)
    session.flush()
    result = analyse(session, [draft], [])
    assert codes(result["boms"]) == ["BOM-PUMP", "BOM-TUBE"]
    assert codes(result["products"]) == ["PUMP"]
    assert codes(result["lots"], "lot_number") == ["P-002", "P-003"]  # completed/released lots are history
    assert [c["change"] for c in result["changes"]] == ["rev A → B: component RESIN-01 0.05 kg → 0.06 kg"]
    flags = result["flags"]
    # facts for the regulatory-notification table: a registered class III device's material changes
    assert flags["regulatory_facts"] == {"identity_change": False, "registered_materials_change": True,
                                         "registered_critical_parameter_change": False,
                                         "registered_process_change_class": ""}
    assert "materials change" in flags["regulatory_notification"][0]["reason"]
    assert "regulatory_notification_required" not in flags  # the table decides, in the process
    assert not flags["validation_required"]


def test_equipment_change_flags_qualification_and_lists_operations_sops_inspections(session, plant):
    result = analyse(session, [], [plant.equipment["EQ-LEAK"]])
    assert [(o["routing"], o["code"]) for o in result["operations"]] == [("RT-PUMP", "TEST")]
    assert codes(result["routings"]) == ["RT-PUMP"]
    assert codes(result["products"]) == ["PUMP"]
    assert [i["name"] for i in result["inspection_items"]] == ["visual"]
    assert codes(result["lots"], "lot_number") == ["P-002", "P-003"]
    assert result["flags"]["validation_required"]
    assert result["flags"]["validation"][0]["type"] == "IQ/OQ/PQ"


def test_critical_parameter_change_and_sop_revision(session, plant):
    draft = DocumentRevision(document_id=plant.sop.id, label="B", title="Pump assembly", body="Assemble v2.")
    session.add(draft)
    session.flush()
    param = session.get(OperationParameter, plant.params["press_force"].id)
    result = analyse(session, [draft], [param])
    assert [d["code"] for d in result["documents"]] == ["SOP-ASSY"]
    assert result["documents"][0]["changed"] and result["documents"][0]["operations"] == ["RT-PUMP/ASSY"]
    assert result["training"] == [{"document": "SOP-ASSY", "current_revision": "A", "trained_users": ["op_li"]}]
    assert result["flags"]["training"][0]["users"] == ["op_li"]
    assert any(v["type"] == "OQ/PQ" for v in result["flags"]["validation"])
    facts = result["flags"]["regulatory_facts"]
    assert facts["registered_critical_parameter_change"] and not facts["registered_materials_change"]


def test_unrelated_item_touches_nothing(session, plant):
    from engine.masterdata.models import Item

    lone = Item(code="LONE", name="Unused", item_type="component", base_unit="pcs")
    session.add(lone)
    session.flush()
    result = analyse(session, [], [lone])
    assert result["products"] == result["boms"] == result["lots"] == []
    assert not result["flags"]["validation_required"] and not any(result["flags"]["regulatory_facts"].values())


@pytest.mark.parametrize(("text", "read"), [("IIB", "IIb"), ("Class III", "III"), (" iia ", "IIa"), ("II", "II"),
                                           ("", ""), ("2a", "2a")])
def test_device_classes_are_read_as_the_tables_spell_them(text, read):
    from engine.processes.rules import device_class

    assert device_class(text) == read
