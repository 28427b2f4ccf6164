"""KPI figures computed from records on a hand-built plant, against answers worked out by hand."""
import datetime as dt

import pytest
from sqlalchemy import insert

from audit.policy import signer_of
from audit.signatures import apply_signature, record_digest
from engine.production.models import Lot, OperationExecution, ParameterMeasurement
from engine.trace import kpi_report
from tests.trace.trace_plant import make_plant_lot


@pytest.fixture()
def plant(session):
    p = make_plant_lot(session)
    a = p["lot"]
    now = dt.datetime.now(dt.timezone.utc)
    ex = a.executions[0]
    param_id = p["good"].parameter_id

    def lot(number, status, made, approved):
        return session.execute(insert(Lot).values(
            lot_number=number, item_id=a.item_id, product_id=a.product_id, product_revision_id=a.product_revision_id,
            bom_revision_id=a.bom_revision_id, routing_revision_id=a.routing_revision_id, status=status, unit="pcs",
            quantity_planned=made, quantity_made=made, quantity_approved=approved, manifest=a.manifest,
            manifest_sha256=a.manifest_sha256, started_at=now - dt.timedelta(hours=6),
            completed_at=now - dt.timedelta(hours=1) if status != "in_process" else None,
            dispositioned_at=now if status in ("released", "rejected") else None)).inserted_primary_key[0]

    def execution(lot_id):
        session.execute(insert(OperationExecution).values(
            lot_id=lot_id, routing_operation_id=ex.routing_operation_id, operator_id=ex.operator_id,
            equipment_id=ex.equipment_id, started_at=now - dt.timedelta(hours=5), ended_at=now - dt.timedelta(hours=4)))

    b = lot("IV-B", "rejected", 50, 0)
    c = lot("IV-C", "released", 100, 100)
    d = lot("IV-D", "in_process", 40, 0)
    for lot_id in (b, c, c, d):  # lot C ran its operation twice: rework
        execution(lot_id)
    session.execute(insert(ParameterMeasurement).values(
        lot_id=c, parameter_id=param_id, value=50.0, unit="kPa", in_spec=True,
        measured_at=now - dt.timedelta(minutes=20), recorded_at=now - dt.timedelta(minutes=10), source="manual"))
    apply_signature(session, signer_of(p["qa"]), meaning="released", record_type="lot", record_id="IV-C",
                    digest=record_digest("lot", "IV-C", {"status": "released"}), components="password+totp",
                    signing_session_id=None, timecode=2)
    session.flush()
    p["now"], p["param_id"] = now, param_id
    return p


def test_production_figures(session, plant):
    now = plant["now"]
    report = kpi_report.kpi_report(session, now - dt.timedelta(days=1), now + dt.timedelta(days=1))
    prod = report["production"]
    assert report["lots_in_period"] == 4
    assert prod["batch_pass_rate"]["value"] == pytest.approx(200 / 3)  # A, C released of A, B, C
    assert prod["batch_pass_rate"]["records"] == ["IV-2611-001", "IV-C"]
    assert prod["first_pass_yield"]["records"] == ["IV-2611-001"]  # C was reworked
    assert prod["rework_rate"]["value"] == pytest.approx(25.0) and prod["rework_rate"]["records"] == ["IV-C"]
    assert prod["scrap_rate"]["value"] == pytest.approx(100 * 53 / 248)  # made 248, approved 95 + 100
    # B: rejected without a signature and without its measurement
    assert prod["record_completeness"]["value"] == pytest.approx(200 / 3)
    assert prod["record_completeness"]["records"] == ["IV-2611-001", "IV-C"]


def test_data_integrity_figures(session, plant):
    now = plant["now"]
    integrity = kpi_report.kpi_report(session, now - dt.timedelta(days=1), now + dt.timedelta(days=1))["data_integrity"]
    # entries: A's 58 kPa (measured 3 h before entry), C's value (10 min), A's inspection (2 h)
    assert integrity["entry_delay_median_minutes"]["value"] == pytest.approx(120, abs=2)
    assert integrity["entry_delay_median_minutes"]["denominator"] == 3
    assert integrity["back_entries"]["value"] == 0
    assert integrity["corrections_per_record"]["value"] == pytest.approx(1 / 3)
    assert integrity["right_first_time"]["value"] == pytest.approx(200 / 3)


def test_empty_period_and_control_chart(session, plant):
    now = plant["now"]
    empty = kpi_report.kpi_report(session, now - dt.timedelta(days=30), now - dt.timedelta(days=29))
    assert empty["lots_in_period"] == 0 and empty["production"]["batch_pass_rate"]["value"] is None
    chart = kpi_report.control_chart(session, plant["param_id"])
    assert [p["lot"] for p in chart["points"]] == ["IV-2611-001", "IV-C"]  # the corrected 58 is not charted
    assert [p["value"] for p in chart["points"]] == [52.0, 50.0]
    assert chart["limits"]["center"] == pytest.approx(51.0)
    assert chart["parameter"]["usl"] == 55
