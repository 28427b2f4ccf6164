"""The generated data dictionary (issue #18): every column described, flags, lineage, drift."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import text

from engine.governance.catalogue import CatalogueError, parse_catalogue
from engine.governance.dictionary import build_dictionary, stale_catalogue_entries
from engine.governance.dictionary_text import to_markdown
from engine.schema import all_metadata
from web.app import create_app
from web.cli import cli


def _columns(dictionary):
    return {f"{t.name}.{c.name}": c for t in dictionary.tables for c in t.columns}


def test_every_table_and_column_has_a_description():
    dictionary = build_dictionary()
    assert dictionary.undocumented == (), (
        "describe these in engine/governance/columns.toml (or with comment=/doc= on the column): "
        + ", ".join(dictionary.undocumented))
    schema = {f"{t.name}.{c.name}" for md in all_metadata() for t in md.tables.values() for c in t.columns}
    assert set(_columns(dictionary)) == schema and all(c.meaning.strip() for c in _columns(dictionary).values())


def test_the_catalogue_names_no_column_that_is_gone():
    assert stale_catalogue_entries() == []


def test_a_column_without_a_description_is_reported(monkeypatch):
    from engine.governance import catalogue, dictionary as module

    notes = dict(catalogue.load_catalogue())
    lots = notes["lots"]
    notes["lots"] = catalogue.TableNote(meaning=lots.meaning, gxp=lots.gxp, audit_trailed=lots.audit_trailed,
                                        columns={k: v for k, v in lots.columns.items() if k != "notes"})
    monkeypatch.setattr(module, "load_catalogue", lambda: notes)
    assert module.build_dictionary().undocumented == ("lots.notes",)


def test_columns_pointing_at_users_are_personal_and_never_kept():
    for name, column in _columns(build_dictionary()).items():
        if column.references == "users.id":
            assert column.personal and column.mask != "keep", name
    columns = _columns(build_dictionary())
    assert columns["users.printed_name"].mask == "remove" and columns["users.password_hash"].mask == "remove"
    assert columns["operation_executions.operator_id"].mask == "pseudonym"
    assert columns["lots.notes"].mask == "scan"  # free text: user names in it are replaced


def test_flags_lineage_and_allowed_values():
    dictionary = build_dictionary()
    tables = {t.name: t for t in dictionary.tables}
    assert tables["parameter_measurements"].append_only and tables["parameter_measurements"].gxp
    assert tables["parameter_measurements"].privileges == ("SELECT", "INSERT")
    assert not tables["lots"].append_only and tables["lots"].audit_trailed
    columns = _columns(dictionary)
    assert columns["lots.status"].allowed_values == (
        "planned", "in_process", "on_hold", "completed", "released", "rejected")
    assert columns["deviations.classification"].allowed_values == ("minor", "major", "critical")
    assert columns["users.locale"].added_in == "0001_foundation"
    assert columns["training_records.score"].added_in == "0001_i15_floor" and columns["training_records.score"].unit == "%"
    assert tables["user_sessions"].added_in == "0001_foundation_i20_sessions"
    assert columns["equipment.calibration_interval_days"].unit == "d"


def test_a_malformed_catalogue_is_refused_with_its_place():
    with pytest.raises(CatalogueError, match="lots.status: mask 'hide'"):
        parse_catalogue({"tables": {"lots": {"columns": {"status": {"meaning": "x", "mask": "hide"}}}}})
    with pytest.raises(CatalogueError, match="lots: no template named 'nope'"):
        parse_catalogue({"tables": {"lots": {"include": ["nope"]}}})


def test_drift_between_models_and_database_is_reported(fresh_db):
    with fresh_db.engine.connect() as conn:
        agreed = build_dictionary(conn)
    assert agreed.drift == () and all(t.in_database for t in agreed.tables)
    with fresh_db.owner_engine.begin() as conn:
        conn.execute(text("ALTER TABLE items ADD COLUMN legacy_code VARCHAR(10)"))
    with fresh_db.engine.connect() as conn:
        drifted = build_dictionary(conn)
    assert "column items.legacy_code: in the database, not in the models" in drifted.drift
    assert "column items.legacy_code: in the database, not in the models" in to_markdown(drifted)


def _run(db, *args):
    app = create_app({"TESTING": True}, settings=db.settings())
    try:
        return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))
    finally:
        app.extensions["sealtrail.engine"].dispose()


def test_data_dictionary_command_in_each_format(fresh_db, tmp_path):
    result = _run(fresh_db, "data-dictionary", "--format", "md")
    assert result.exit_code == 0, result.output
    assert "None: the database matches the models." in result.output
    for table in build_dictionary().tables:
        assert f"\n## {table.name}\n" in result.output
    assert "| operator_id | INTEGER | no | — | — | Operator who performed the operation. → users.id | yes | pseudonym |" \
        in result.output
    result = _run(fresh_db, "data-dictionary", "--format", "json", "-o", str(tmp_path / "dd.json"))
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "dd.json").read_text(encoding="utf-8"))
    assert data["drift"] == [] and len(data["tables"]) == len(build_dictionary().tables)
    result = _run(fresh_db, "data-dictionary", "--format", "html", "-o", str(tmp_path / "dd.html"))
    assert result.exit_code == 0, result.output
    html = (tmp_path / "dd.html").read_text(encoding="utf-8")
    assert 'id="t-parameter_measurements"' in html and "append-only" in html
