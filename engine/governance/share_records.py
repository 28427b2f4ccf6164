"""Which records a sharing package holds: the rows each selector reaches, by table.

``lot``: the lot given and every lot that used it (forward genealogy, ``engine.trace``), with
their supplier lot (the root's only), items, consumptions along that path, operations,
measurements, inspection results and deviations. ``change``: a change request and the revisions
it released. ``period``: the changes raised, deviations raised, CAPAs opened and release
decisions taken in a date range, with the lots they name. The profile then keeps only its tables
and columns.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from engine.errors import NotFound, ValidationFailed
from engine.governance.profiles import Profile
from engine.schema import all_metadata
from engine.trace import genealogy

MAX_PERIOD_DAYS = 3660


def table(name: str) -> Table:
    """The Core table ``name`` of the schema."""
    for md in all_metadata():
        if name in md.tables:
            return md.tables[name]
    raise KeyError(name)


def _ids(session: Session, column, where) -> set[int]:
    return set(session.execute(select(column).where(where)).scalars()) - {None}


def _chunks(ids: Iterable[int], size: int = 5000):
    ids = sorted(ids)
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def _where_in(session: Session, column, ids: set[int], pick) -> set[int]:
    out: set[int] = set()
    for chunk in _chunks(ids):
        out |= _ids(session, pick, column.in_(chunk))
    return out


def lot_records(session: Session, profile: Profile, lot_text: str) -> tuple[dict[str, set[int]], dict]:
    """Rows reached from a lot (see the module docstring); also what the selector resolved to."""
    root = genealogy.get_lot(session, lot_text)
    if profile.root and root.source != profile.root:
        raise ValidationFailed(f"the {profile.name} profile shares a {profile.root} lot; "
                               f"{root.lot_number} is {root.source}", field="lot")
    forward = genealogy.trace(session, root, "forward")
    lots = {root.id, *forward.lots}
    t = {n: table(n) for n in ("lots", "operation_executions", "parameter_measurements", "inspection_results",
                               "deviations", "deviation_lots", "operation_parameters", "inspection_items")}
    out: dict[str, set[int]] = {"lots": lots}
    out["supplier_lots"] = {root.supplier_lot_id} - {None}
    out["items"] = _where_in(session, t["lots"].c.id, lots, t["lots"].c.item_id)
    out["material_consumptions"] = {e.consumption_id for e in forward.edges
                                    if e.parent_id in lots and e.component_id in lots}
    ex, pm, ir = t["operation_executions"].c, t["parameter_measurements"].c, t["inspection_results"].c
    out["operation_executions"] = _where_in(session, ex.lot_id, lots, ex.id)
    out["parameter_measurements"] = _where_in(session, pm.lot_id, lots, pm.id)
    out["inspection_results"] = _where_in(session, ir.lot_id, lots, ir.id)
    out["operation_parameters"] = _where_in(session, pm.id, out["parameter_measurements"], pm.parameter_id)
    out["inspection_items"] = _where_in(session, ir.id, out["inspection_results"], ir.inspection_item_id)
    out["routing_operations"] = (
        _where_in(session, ex.id, out["operation_executions"], ex.routing_operation_id)
        | _where_in(session, t["operation_parameters"].c.id, out["operation_parameters"],
                    t["operation_parameters"].c.operation_id)
        | _where_in(session, t["inspection_items"].c.id, out["inspection_items"], t["inspection_items"].c.operation_id))
    dev, dl = t["deviations"].c, t["deviation_lots"].c
    out["deviations"] = (_where_in(session, dev.lot_id, lots, dev.id)
                         | _where_in(session, dl.lot_id, lots, dl.deviation_id))
    return out, {"lot": root.lot_number, "lots": len(lots)}


def change_records(session: Session, number: str) -> tuple[dict[str, set[int]], dict]:
    """A change request and the revisions it released."""
    cr, rev = table("change_requests").c, table("change_revisions").c
    found = _ids(session, cr.id, cr.number == (number or "").strip())
    if not found:
        raise NotFound(f"no change request {number!r}", field="change")
    return {"change_requests": found, "change_revisions": _where_in(session, rev.change_request_id, found, rev.id)}, \
        {"change": number.strip()}


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    """``YYYY-MM-DD..YYYY-MM-DD`` (both days included)."""
    first, sep, last = (text or "").partition("..")
    try:
        start, end = dt.date.fromisoformat(first.strip()), dt.date.fromisoformat(last.strip())
    except ValueError:
        raise ValidationFailed("give the period as YYYY-MM-DD..YYYY-MM-DD", field="period") from None
    if not sep or end < start or (end - start).days > MAX_PERIOD_DAYS:
        raise ValidationFailed(f"the period must run forward and span at most {MAX_PERIOD_DAYS} days",
                               field="period")
    return start, end


def period_records(session: Session, text: str) -> tuple[dict[str, set[int]], dict]:
    """Changes, deviations, CAPAs and release decisions of a period, with the lots they name."""
    start, end = parse_period(text)
    lo = dt.datetime.combine(start, dt.time(), dt.timezone.utc)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    cr, dev, capa, rr = (table(n).c for n in ("change_requests", "deviations", "capas", "release_reviews"))
    rev = table("change_revisions").c
    out = {"change_requests": _ids(session, cr.id, (cr.created_at >= lo) & (cr.created_at < hi)),
           "deviations": _ids(session, dev.id, (dev.raised_at >= lo) & (dev.raised_at < hi)),
           "capas": _ids(session, capa.id, (capa.opened_at >= lo) & (capa.opened_at < hi)),
           "release_reviews": _ids(session, rr.id, (rr.decided_at >= lo) & (rr.decided_at < hi))}
    out["change_revisions"] = _where_in(session, rev.change_request_id, out["change_requests"], rev.id)
    out["lots"] = (_where_in(session, dev.id, out["deviations"], dev.lot_id)
                   | _where_in(session, rr.id, out["release_reviews"], rr.lot_id))
    return out, {"period": f"{start.isoformat()}..{end.isoformat()}"}


def fetch_rows(session: Session, name: str, columns: tuple[str, ...], ids: set[int]) -> list[dict]:
    """The rows ``ids`` of table ``name``, only ``columns``, by id."""
    t = table(name)
    rows: list[dict] = []
    for chunk in _chunks(ids):
        rows += [dict(r._mapping) for r in session.execute(
            select(*(t.c[c] for c in columns)).where(t.c.id.in_(chunk)))]
    return sorted(rows, key=lambda r: r["id"])


def supplier_names(session: Session, except_ids: set[int]) -> set[str]:
    """Every supplier's name but those of the supplier lots ``except_ids``."""
    sl = table("supplier_lots").c
    own = set(session.execute(select(sl.supplier).where(sl.id.in_(except_ids or {-1}))).scalars())
    names = set(session.execute(select(sl.supplier).distinct()).scalars())
    return {n for n in names - own if n and not any(n.casefold() == o.casefold() for o in own)}



def supplier_known(session: Session, name: str) -> bool:
    """Whether some supplier lot comes from ``name`` (compared without case)."""
    sl = table("supplier_lots").c
    names = session.execute(select(sl.supplier).distinct()).scalars()
    return any(n and n.strip().casefold() == name.strip().casefold() for n in names)


def suppliers_of(session: Session, supplier_lot_ids: set[int]) -> set[str]:
    """The supplier names of the supplier lots ``supplier_lot_ids``."""
    sl = table("supplier_lots").c
    return set(session.execute(select(sl.supplier).where(sl.id.in_(supplier_lot_ids or {-1}))).scalars()) - {None}
