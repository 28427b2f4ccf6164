"""``trace``, ``recall``, ``import``, ``export``, ``dhr`` and ``kpi``: traceability from the command line."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from audit import Actor
from engine.errors import SealtrailError
from engine.trace import component_serials, dhr, dhr_pdf, genealogy, serials
from engine.trace.importing import apply as applying
from web.cli.sealing import end_with_checkpoint
from engine.trace.importing import cleanse, sheets
from engine.trace.importing.export import export_rows, write_export
from engine.trace.kpi_report import kpi_report


def register(cli: click.Group) -> None:
    cli.add_command(trace_cmd)
    cli.add_command(recall_cmd)
    cli.add_command(import_cmd)
    cli.add_command(export_cmd)
    cli.add_command(dhr_cmd)
    cli.add_command(kpi_cmd)


def _sessions():
    return current_app.extensions["sealtrail.sessions"]


def _fail(exc: SealtrailError) -> None:
    raise click.ClickException(exc.message) from exc


def _line(node: dict, prefix: str, last: bool, out: list[str], top: bool = False) -> None:
    lot = node["lot"]
    qty = f"  ({node['quantity']:g} {node['unit']})" if "quantity" in node else ""
    supplier = f"  supplier {lot['supplier']} lot {lot['supplier_lot_number']}" if lot.get("supplier") else ""
    label = (f"{lot['lot_number']}  {lot['item_code']} {lot['item_name']}  [{lot['status']}]"
             f"{qty}{supplier}{'  ⟲ cycle' if node.get('cycle') else ''}{'  (its components: where it first appears in the tree)' if node.get('repeat') else ''}")
    out.append(label if top else f"{prefix}{'└── ' if last else '├── '}{label}")
    children = node["children"]
    for i, child in enumerate(children):
        _line(child, "" if top else prefix + ("    " if last else "│   "), i == len(children) - 1, out)


@click.command("trace")
@click.argument("lot")
@click.option("--forward", is_flag=True, help="Where the lot went (default: what went into it).")
@click.option("--json", "as_json", is_flag=True, help="Print the trace as JSON.")
@with_appcontext
def trace_cmd(lot: str, forward: bool, as_json: bool) -> None:
    """Genealogy of LOT (a lot number or a scanned GS1 string): components, or --forward uses.

    A unit's UDI with (21) names the unit and its component serials; a serialised component's
    (01)+(21) names the finished unit(s) it went into, then traces the lot it came with."""
    try:
        with _sessions().begin() as session:
            root = genealogy.get_lot(session, lot)
            unit, part = _serial_hits(session, lot)
            fitted = component_serials.components_of(session, [unit.serial.id]).get(unit.serial.id, []) \
                if unit else None
            used = component_serials.where_fitted(part) if part else None
            result = genealogy.trace(session, root, "forward" if forward else "backward")
    except SealtrailError as exc:
        _fail(exc)
    if as_json:
        doc = result.as_dict()
        if unit is not None:
            doc["unit"] = {"serial": unit.serial.serial, "lot": unit.lot.lot_number, "components": fitted}
        if used is not None:
            doc["component_serial"] = used
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=str))
        return
    out: list[str] = []
    if unit is not None:
        click.echo(f"serial {unit.serial.serial}: a unit of lot {unit.lot.lot_number}")
        for c in fitted:
            click.echo(f"  component {c['item']} serial {c['serial']} (lot {c['lot']})")
    if used is not None:
        c = used["component"]
        click.echo(f"component serial {c['serial']} of {c['item']}: received with lot {c['lot']}")
        for u in used["units"]:
            click.echo(f"  fitted into unit {u['serial']} of lot {u['lot']} [{u['lot_status']}]")
        if not used["units"]:
            click.echo("  not fitted into any unit yet")
    _line(result.tree(), "", True, out, top=True)
    click.echo("\n".join(out))
    click.echo(f"{len(result.lots)} lot(s), {len(result.edges)} link(s), depth {result.max_depth} "
               f"({'forward' if forward else 'backward'})")


def _serial_hits(session, text: str):
    """The finished unit or the component unit a scan with (21) names (each None when not)."""
    if not genealogy.is_serial_scan(text):
        return None, None
    unit = serials.find_serial(session, text)
    return unit, (None if unit else component_serials.find_component_serial(session, text))


@click.command("recall")
@click.argument("lot")
@click.option("--json", "as_json", is_flag=True, help="Print the simulation as JSON.")
@with_appcontext
def recall_cmd(lot: str, as_json: bool) -> None:
    """Recall simulation: every finished lot that a suspect LOT reached, with status and quantity.

    A serialised component's (01)+(21) is suspect alone: the finished unit it went into and that
    unit's lot are affected, not every lot its component lot reached."""
    try:
        with _sessions().begin() as session:
            _unit, part = _serial_hits(session, lot)
            if part is not None:
                used = component_serials.where_fitted(part)
            else:
                sim = genealogy.simulate_recall(session, genealogy.get_lot(session, lot))
    except SealtrailError as exc:
        _fail(exc)
    if part is not None:
        _component_recall(used, as_json)
        return
    if as_json:
        click.echo(json.dumps(sim.as_dict(), ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"suspect lot {sim.suspect.lot_number} ({sim.suspect.item_code}) reached "
               f"{len(sim.trace.lots)} lot(s); {len(sim.affected)} finished lot(s) affected:")
    for a in sim.affected:
        click.echo(f"  {a.lot_number:20} {a.item_code:14} {a.status:11} made {a.quantity_made:g} "
                   f"approved {a.quantity_approved:g} {a.unit}")
    for status, t in sim.totals().items():
        click.echo(f"  total {status}: {t['lots']} lot(s), {t['quantity_approved']:g} approved / "
                   f"{t['quantity_made']:g} made")


def _component_recall(used: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(used, ensure_ascii=False, indent=2, default=str))
        return
    c = used["component"]
    click.echo(f"suspect component serial {c['serial']} of {c['item']} (lot {c['lot']}): "
               f"{len(used['units'])} finished unit(s) affected:")
    for u in used["units"]:
        click.echo(f"  unit {u['serial']:20} lot {u['lot']:20} {u['lot_status']:11} "
                   f"{'packed' if u['packed'] else 'not packed'}")
    for lot in used["lots"]:
        click.echo(f"  lot {lot['lot_number']:20} {lot['item']:14} {lot['status']:11} made {lot['quantity_made']:g} "
                   f"approved {lot['quantity_approved']:g} {lot['unit']}")


@click.command("import")
@click.argument("path", type=click.Path(exists=True))
@click.option("--apply", "do_apply", is_flag=True, help="Write everything (one transaction); default is a dry run.")
@click.option("--reason", default="", help="Why this migration is made (required with --apply; audited).")
@click.option("--json", "as_json", is_flag=True, help="Print the cleansing report as JSON.")
@with_appcontext
def import_cmd(path: str, do_apply: bool, reason: str, as_json: bool) -> None:
    """Import items, products, equipment, tooling, BOMs, routings, parameters and historical lots.

    PATH is an .xlsx workbook (one sheet per kind), a <kind>.csv file or a directory of them.
    Without --apply nothing is written: the cleansing report lists duplicates, unit problems,
    unknown references, BOM cycles, implausible values and missing fields. With --apply the
    rows are written as draft revisions in one transaction, or nothing is written at all.
    """
    try:
        workbook = sheets.read_path(path)
        with _sessions().begin() as session:
            report = cleanse.cleanse(workbook, applying.known_from_db(session))
            if as_json:
                click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
            else:
                click.echo(report.as_text())
            if not do_apply:
                click.echo("dry run: nothing written (use --apply --reason '...' to import)")
                return
            if not report.ok:
                raise click.ClickException("not applied: the report has errors")
            actor = Actor(kind="system", id="cli-import", name="sealtrail import (command line)")
            batch = applying.apply_import(session, actor, workbook, report, reason=reason,
                                          source_sha256=_sha256(path))
            click.echo(f"applied as import batch {batch.id}: " +
                       ", ".join(f"{k} {n}" for k, n in batch.counts.items() if n))
    except SealtrailError as exc:
        _fail(exc)
    end_with_checkpoint()


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    p = Path(path)
    for f in sorted(p.rglob("*")) if p.is_dir() else [p]:
        if f.is_file():
            digest.update(f.name.encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()


@click.command("export")
@click.argument("path", type=click.Path())
@with_appcontext
def export_cmd(path: str) -> None:
    """Export the plant in the import format: PATH.xlsx, or a directory of CSV files."""
    with _sessions().begin() as session:
        rows = export_rows(session)
    out = write_export(rows, path)
    click.echo(f"exported to {out}: " + ", ".join(f"{k} {len(v)}" for k, v in rows.items() if v))


@click.command("dhr")
@click.argument("lot")
@click.option("-o", "--output", type=click.Path(), help="Write the PDF here (default: LOT-dhr.pdf).")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON instead of writing a PDF.")
@click.option("--timezone", default="Asia/Shanghai", show_default=True, help="Zone for signature times.")
@with_appcontext
def dhr_cmd(lot: str, output: str | None, as_json: bool, timezone: str) -> None:
    """The Device History Record of LOT (lot number or scanned GS1 string) as PDF or JSON."""
    try:
        with _sessions().begin() as session:
            record = dhr.build_dhr(session, genealogy.get_lot(session, lot), timezone=timezone)
    except SealtrailError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False, indent=2, default=str))
        return
    path = output or f"{record['lot']['lot_number']}-dhr.pdf"
    with open(path, "wb") as fh:
        fh.write(dhr_pdf.render_pdf(record))
    click.echo(f"wrote {path} ({record['audit']['verification']['text']})")


@click.command("kpi")
@click.option("--from", "start", required=True, help="Period start (YYYY-MM-DD, UTC).")
@click.option("--to", "end", required=True, help="Period end, exclusive (YYYY-MM-DD, UTC).")
@with_appcontext
def kpi_cmd(start: str, end: str) -> None:
    """Print the KPI figures for a period as JSON (the same document the API returns)."""

    try:
        lo, hi = (dt.datetime.fromisoformat(v).replace(tzinfo=dt.timezone.utc) for v in (start, end))
    except ValueError as exc:
        raise click.BadParameter(f"dates must be YYYY-MM-DD: {exc}") from exc
    with _sessions().begin() as session:
        click.echo(json.dumps(kpi_report(session, lo, hi), ensure_ascii=False, indent=2, default=str))
