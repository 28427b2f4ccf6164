"""``serials``: unit serial numbers (GS1 AI 21) of finished lots — assign, scan at packing, list — and the
serials of serialised components: received with their lot, fitted into finished units (#18)."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from engine.errors import SealtrailError
from engine.trace import component_serials, genealogy, serials
from engine.trace.unit_labels import render_labels_pdf, unit_labels
from engine.users import duties
from web.cli.actors import actor_of, signed_change


def register(cli: click.Group) -> None:
    cli.add_command(serials_group)


@click.group("serials")
def serials_group() -> None:
    """Serial numbers of the units of finished lots (GS1 AI 21)."""


@serials_group.command("assign")
@click.argument("lot")
@click.option("--first", help="First serial of a range; its trailing digits count up (SN000100 …).")
@click.option("--count", type=int, help="How many serials from --first.")
@click.option("--serial", "given", multiple=True, help="One serial (repeat for several).")
@click.option("--by", "by", required=True, help="The production manager assigning them (username); signs with "
              "password and authenticator code (prompted, or two lines on stdin).")
@with_appcontext
def assign(lot: str, first: str | None, count: int | None, given: tuple[str, ...], by: str) -> None:
    """Assign serials to units of the finished LOT (a range, or serials one by one)."""
    wanted = _wanted_serials(first, count, given)

    def change(session, user):
        target = genealogy.get_lot(session, lot)
        rows = serials.assign_serials(session, actor_of(user), target, wanted)
        record = {"lot": target.lot_number, "count": len(rows), "first": rows[0].serial, "last": rows[-1].serial}
        return record, target.lot_number, record

    record = signed_change(by, duties.PLAN_LOTS, change, record_type="lot_serials")
    click.echo(f"lot {record['lot']}: {record['count']} serial(s) assigned, {record['first']} … {record['last']}")


@serials_group.command("pack")
@click.argument("scan")
@click.option("--by", "by", required=True, help="The person packing (username); signs.")
@with_appcontext
def pack(scan: str, by: str) -> None:
    """Record the packing scan of a unit's UDI: (01)GTIN(10)LOT(21)SERIAL or raw with GS separators."""
    def change(session, user):
        hit = serials.record_packing(session, actor_of(user), scan)
        record = {"lot": hit.lot.lot_number, "serial": hit.serial.serial,
                  "packed_at": hit.serial.packed_at.isoformat()}
        return record, f"{hit.lot.lot_number}/{hit.serial.serial}", record

    record = signed_change(by, duties.RUN_OPERATIONS, change, record_type="lot_serial", meaning="performed")
    click.echo(f"serial {record['serial']} of lot {record['lot']} packed at {record['packed_at']}")


@serials_group.command("receive")
@click.argument("lot")
@click.option("--first", help="First serial of a range; its trailing digits count up.")
@click.option("--count", type=int, help="How many serials from --first.")
@click.option("--serial", "given", multiple=True, help="One serial (repeat for several).")
@click.option("--by", "by", required=True, help="The person recording them (username); signs.")
@with_appcontext
def receive(lot: str, first: str | None, count: int | None, given: tuple[str, ...], by: str) -> None:
    """Record the serials of a serialised component's LOT (as received, or as made)."""
    wanted = _wanted_serials(first, count, given)

    def change(session, user):
        target = genealogy.get_lot(session, lot)
        rows = component_serials.receive_component_serials(session, actor_of(user), target, wanted)
        record = {"lot": target.lot_number, "item": target.item.code, "count": len(rows), "first": rows[0].serial,
                  "last": rows[-1].serial}
        return record, target.lot_number, record

    record = signed_change(by, duties.RUN_OPERATIONS, change, record_type="component_serials", meaning="performed")
    click.echo(f"lot {record['lot']} ({record['item']}): {record['count']} component serial(s) recorded, "
               f"{record['first']} … {record['last']}")


@serials_group.command("fit")
@click.argument("unit")
@click.argument("components", nargs=-1, required=True)
@click.option("--by", "by", required=True, help="The person assembling (username); signs.")
@with_appcontext
def fit(unit: str, components: tuple[str, ...], by: str) -> None:
    """Record that the scanned COMPONENTS ((01)GTIN(21)SERIAL each) went into the finished UNIT (its UDI)."""
    def change(session, user):
        hit, rows = component_serials.fit_components(session, actor_of(user), unit, list(components))
        record = {"lot": hit.lot.lot_number, "unit_serial": hit.serial.serial,
                  "components": [{"item": r.item.code, "serial": r.serial, "lot": r.lot.lot_number} for r in rows]}
        return record, f"{hit.lot.lot_number}/{hit.serial.serial}", record

    record = signed_change(by, duties.RUN_OPERATIONS, change, record_type="lot_serial", meaning="performed")
    for c in record["components"]:
        click.echo(f"unit {record['unit_serial']} of lot {record['lot']}: {c['item']} serial {c['serial']} "
                   f"(lot {c['lot']}) fitted")


@serials_group.command("list")
@click.argument("lot")
@with_appcontext
def list_(lot: str) -> None:
    """The serials of LOT with their packing scans."""
    sessions = current_app.extensions["sealtrail.sessions"]
    try:
        with sessions() as session:
            target = genealogy.get_lot(session, lot)
            rows = [(s.serial, s.packed_at) for s in serials.serials_of(session, target)]
    except SealtrailError as exc:
        raise click.ClickException(exc.message) from exc
    for serial, packed in rows:
        click.echo(f"{serial}  {'packed ' + packed.isoformat() if packed else 'not packed'}")
    click.echo(f"{len(rows)} serial(s), {sum(1 for _, p in rows if p)} packed")


@serials_group.command("labels")
@click.argument("lot")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The PDF to write (A4, six labels a page).")
@click.option("--first", help="Start at this serial (default: the first).")
@click.option("--count", type=int, help="How many labels from --first (default: all; at most 2000 a file).")
@with_appcontext
def labels(lot: str, output: Path, first: str | None, count: int | None) -> None:
    """Unit labels of LOT: a GS1-128 UDI per serial, (01)(11)(17)(10) and the unit's (21) serial."""
    sessions = current_app.extensions["sealtrail.sessions"]
    try:
        with sessions() as session:
            target = genealogy.get_lot(session, lot)
            rows = unit_labels(session, target, first=first, count=count)
            number = target.lot_number
    except SealtrailError as exc:
        raise click.ClickException(exc.message) from exc
    output.write_bytes(render_labels_pdf(rows, title=f"Unit labels {number}"))
    click.echo(f"{len(rows)} label(s) of lot {number} ({rows[0]['serial']} … {rows[-1]['serial']}) written to {output}")


def _wanted_serials(first: str | None, count: int | None, given: tuple[str, ...]) -> list[str]:
    """The serials a command names: a range (--first with --count) or one by one (--serial)."""
    if bool(first) == bool(given) or bool(first) != (count is not None):
        raise click.UsageError("give --first with --count, or --serial (repeatable)")
    try:
        return serials.expand_range(first, count) if first else list(given)
    except SealtrailError as exc:
        raise click.ClickException(exc.message) from exc
