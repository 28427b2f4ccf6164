"""``trace``, ``recall``, ``import``, ``export``, ``dhr`` and ``kpi``: traceability from the command line."""
from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from engine.errors import SealtrailError


def register(cli: click.Group) -> None:
    cli.add_command(trace_cmd)
    cli.add_command(recall_cmd)


def _sessions():
    return current_app.extensions["sealtrail.sessions"]


def _fail(exc: SealtrailError) -> None:
    raise click.ClickException(exc.message) from exc


def _line(node: dict, prefix: str, last: bool, out: list[str], top: bool = False) -> None:
    lot = node["lot"]
    qty = f"  ({node['quantity']:g} {node['unit']})" if "quantity" in node else ""
    supplier = f"  supplier {lot['supplier']} lot {lot['supplier_lot_number']}" if lot.get("supplier") else ""
    label = (f"{lot['lot_number']}  {lot['item_code']} {lot['item_name']}  [{lot['status']}]"
             f"{qty}{supplier}{'  ⟲ cycle' if node.get('cycle') else ''}{'  (expanded above)' if node.get('repeat') else ''}")
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
    """Genealogy of LOT (a lot number or a scanned GS1 string): components, or --forward uses."""
    from engine.trace import genealogy

    try:
        with _sessions().begin() as session:
            result = genealogy.trace(session, genealogy.get_lot(session, lot), "forward" if forward else "backward")
    except SealtrailError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2, default=str))
        return
    out: list[str] = []
    _line(result.tree(), "", True, out, top=True)
    click.echo("\n".join(out))
    click.echo(f"{len(result.lots)} lot(s), {len(result.edges)} link(s), depth {result.max_depth} "
               f"({'forward' if forward else 'backward'})")


@click.command("recall")
@click.argument("lot")
@click.option("--json", "as_json", is_flag=True, help="Print the simulation as JSON.")
@with_appcontext
def recall_cmd(lot: str, as_json: bool) -> None:
    """Recall simulation: every finished lot that a suspect LOT reached, with status and quantity."""
    from engine.trace import genealogy

    try:
        with _sessions().begin() as session:
            sim = genealogy.simulate_recall(session, genealogy.get_lot(session, lot))
    except SealtrailError as exc:
        _fail(exc)
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
