"""``--apply`` writes all or nothing, audited; export → import into an empty database round-trips."""
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import func, select

from audit import Actor
from audit.models import AuditEntry
from engine.errors import ValidationFailed
from engine.masterdata.models import Item, ProductRevision
from engine.production.models import Lot, MaterialConsumption
from engine.trace.importing import apply as applying, cleanse, sheets
from engine.trace.importing.export import export_rows, write_export
from engine.trace.models import ImportBatch
from tests import conftest as shared
from tests.trace.trace_plant import make_plant_lot
from web.app import create_app
from web.cli import cli

ACTOR = Actor(kind="system", id="tests", name="Test Suite")
DIRTY = Path(__file__).parent / "data" / "dirty_plant"


@pytest.fixture()
def second_db(db_server, template_db):
    name = f"{db_server.prefix}_{uuid.uuid4().hex[:8]}"
    db = db_server.clone_database(template_db, name)
    yield db
    db.dispose()
    db_server.drop(name)


def _import(session, path, reason="migration from the legacy ERP, change CR-2026-0007"):
    wb = sheets.read_path(path)
    report = cleanse.cleanse(wb, applying.known_from_db(session))
    return applying.apply_import(session, ACTOR, wb, report, reason=reason, source_sha256="0" * 64), report


def test_round_trip_export_import_export(fresh_db, second_db, tmp_path):
    with fresh_db.sessions.begin() as session:
        make_plant_lot(session)
    with fresh_db.sessions.begin() as session:
        first = export_rows(session)
    path = write_export(first, tmp_path / "plant.xlsx")
    with second_db.sessions.begin() as session:
        batch, report = _import(session, path)
        assert report.ok, report.as_text()
    with second_db.sessions.begin() as session:
        again = export_rows(session)
        states = set(session.scalars(select(ProductRevision.state)))
        entries = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "import.apply"))
        stored = session.scalars(select(ImportBatch)).one()
    assert again == first  # every exported field of every kind, unchanged
    assert states == {"draft"}  # master data arrives as drafts: release goes through change control
    assert entries == 1 and stored.reason.startswith("migration from the legacy ERP")
    assert stored.counts["lots"] == 2 and stored.counts["consumptions"] == 1
    csv_dir = write_export(first, tmp_path / "csv")
    assert sheets.read_path(csv_dir).rows["items"][0].cells["code"] == first["items"][0]["code"]


def test_dirty_file_is_refused_and_nothing_is_written(session):
    wb = sheets.read_path(DIRTY)
    report = cleanse.cleanse(wb, applying.known_from_db(session))
    before = session.scalar(select(func.count()).select_from(Item))
    with pytest.raises(ValidationFailed, match="error"):
        applying.apply_import(session, ACTOR, wb, report, reason="try", source_sha256="0" * 64)
    with pytest.raises(ValidationFailed, match="reason is required"):
        applying.apply_import(session, ACTOR, wb, report, reason=" ", source_sha256="0" * 64)
    assert session.scalar(select(func.count()).select_from(Item)) == before


def test_a_failure_midway_rolls_back_everything(fresh_db, tmp_path):
    # the third item's code breaks master data's code rule, which only the use case checks
    (tmp_path / "items.csv").write_text("code,name,item_type,base_unit\nA-1,a,component,pcs\n"
                                        "A-2,b,component,pcs\nA 3,c,component,pcs\n")
    with pytest.raises(ValidationFailed, match=r"items:4: code 'A 3' must be"):
        with fresh_db.sessions.begin() as session:
            _import(session, tmp_path)
    with fresh_db.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(Item)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_import_command_dry_run_then_apply(fresh_db, tmp_path):
    with fresh_db.sessions.begin() as session:
        make_plant_lot(session)
        rows = export_rows(session)
    path = write_export(rows, tmp_path / "plant")
    for kind in ("items", "products", "equipment", "bom_lines", "operations", "parameters", "lots", "consumptions"):
        for row in rows[kind]:
            for col in ("code", "lot_number", "bom", "routing", "item", "component", "parent_lot", "component_lot"):
                if row.get(col):
                    row[col] = "X" + row[col]
            if kind == "operations" and row["equipment"]:
                row["equipment"] = "X" + row["equipment"]
    path = write_export(rows, tmp_path / "renamed")
    app = create_app({"TESTING": True}, settings=fresh_db.settings())
    try:
        run = lambda *a: CliRunner().invoke(cli, list(a), obj=ScriptInfo(create_app=lambda: app))  # noqa: E731
        dry = run("import", str(path))
        assert dry.exit_code == 0 and "dry run: nothing written" in dry.output
        refused = run("import", str(DIRTY), "--apply", "--reason", "x")
        assert refused.exit_code == 1 and "not applied" in refused.output
        done = run("import", str(path), "--apply", "--reason", "second site")
        assert done.exit_code == 0, done.output
        assert "applied as import batch" in done.output
    finally:
        app.extensions["sealtrail.engine"].dispose()
    with fresh_db.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(Lot).where(Lot.lot_number.like("X%"))) == 2
        assert session.scalar(select(func.count()).select_from(MaterialConsumption)) == 2
