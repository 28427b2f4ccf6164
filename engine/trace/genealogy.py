"""Genealogy: which lots went into a lot (backward) and where a lot went (forward).

One recursive CTE per direction over ``material_consumptions``, the same SQL on SQLite and
PostgreSQL. The CTE collects *edges* with ``UNION`` (not ``UNION ALL``): each consumption row
enters once however many paths reach it, so a diamond-shaped genealogy costs its number of
edges rather than its number of paths, and a corrupt cyclic genealogy still terminates. Depths
(shortest distance from the traced lot) and the tree are derived from the edges in Python.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from sqlalchemy import literal, select
from sqlalchemy.orm import Session, aliased

from engine.errors import NotFound
from engine.masterdata.models import Item
from engine.production.models import Lot, MaterialConsumption, SupplierLot
from engine.users import models as _users  # noqa: F401  (mappers reference User by name)
from engine.trace import component_serials, gs1, serials


@dataclass
class TraceLot:
    """A lot in a trace, with what a person needs to recognise it."""

    id: int
    lot_number: str
    item_code: str
    item_name: str
    item_type: str
    status: str
    source: str
    quantity_made: float
    quantity_approved: float
    unit: str
    supplier: str | None = None
    supplier_lot_number: str | None = None
    depth: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TraceEdge:
    """One consumption: ``quantity`` ``unit`` of ``component_id`` went into ``parent_id``."""

    consumption_id: int
    parent_id: int
    component_id: int
    quantity: float
    unit: str


@dataclass
class Trace:
    """The result of a trace: the root, every lot reached (by id) and the edges between them."""

    direction: str  # "backward" (components) or "forward" (where used)
    root: TraceLot
    lots: dict[int, TraceLot] = field(default_factory=dict)
    edges: list[TraceEdge] = field(default_factory=list)

    @property
    def max_depth(self) -> int:
        return max((lot.depth for lot in self.lots.values()), default=0)

    def lot(self, lot_id: int) -> TraceLot:
        return self.root if lot_id == self.root.id else self.lots[lot_id]

    def _adjacency(self) -> dict[int, list[tuple[TraceEdge, int]]]:
        backward = self.direction == "backward"
        adj: dict[int, list[tuple[TraceEdge, int]]] = {}
        for e in self.edges:
            near, far = (e.parent_id, e.component_id) if backward else (e.component_id, e.parent_id)
            adj.setdefault(near, []).append((e, far))
        for nxt in adj.values():
            nxt.sort(key=lambda pair: self.lot(pair[1]).lot_number)
        return adj

    def children(self, lot_id: int) -> list[tuple[TraceEdge, TraceLot]]:
        """The next lots from ``lot_id`` away from the root, in lot-number order."""
        return [(e, self.lot(far)) for e, far in self._adjacency().get(lot_id, [])]

    def tree(self) -> dict:
        """Nested ``{"lot", "quantity", "unit", "children"}``, breadth-first from the root.

        A lot reached along several paths (a shared component lot) is expanded once, where it
        is nearest the root; later occurrences carry ``"repeat": True`` and no children, so
        the tree stays as large as the genealogy instead of its number of paths.
        """
        adj = self._adjacency()
        root = {"lot": self.root.as_dict(), "children": []}
        expanded, queue = {self.root.id}, deque([(self.root.id, root)])
        while queue:
            lot_id, node = queue.popleft()
            for edge, far in adj.get(lot_id, []):
                child = {"lot": self.lot(far).as_dict(), "quantity": edge.quantity, "unit": edge.unit,
                         "children": []}
                if far in expanded:
                    child["repeat"] = True
                    if far == self.root.id:
                        child["cycle"] = True  # only possible in corrupt data
                else:
                    expanded.add(far)
                    queue.append((far, child))
                node["children"].append(child)
        return root

    def as_dict(self) -> dict:
        return {"direction": self.direction, "root": self.root.as_dict(), "lot_count": len(self.lots),
                "edge_count": len(self.edges), "max_depth": self.max_depth, "tree": self.tree()}


def _serial_scan(text: str) -> gs1.GS1Data | None:
    if not gs1.looks_like_gs1(text):
        return None
    data = gs1.parse(text)
    return data if data.serial and data.gtin else None


def is_serial_scan(text: str) -> bool:
    """True when ``text`` is a unit's UDI carrying (01) GTIN and (21) serial."""
    return _serial_scan(text) is not None


def find_lot(session: Session, text: str) -> Lot | None:
    """The lot for a typed lot number, a scanned GS1 string (AI 10), a unit's UDI with a serial
    (AI 21, the unit's lot) or a serialised component's (01)+(21) (the lot it came with), or None."""
    scanned = _serial_scan(text)
    if scanned is not None:
        hit = serials.find_serial(session, text) or component_serials.find_component_serial(session, text)
        if hit is not None or not scanned.lot:
            return hit.lot if hit else None
    number, _ = gs1.lot_number_from_scan(text)
    return session.scalars(select(Lot).where(Lot.lot_number == number)).one_or_none()


def get_lot(session: Session, text: str) -> Lot:
    """Like ``find_lot`` but raises NotFound naming the lot (or the serial)."""
    lot = find_lot(session, text)
    if lot is None:
        scanned = _serial_scan(text)
        if scanned is not None and not scanned.lot:
            serials.get_serial(session, text)  # raises NotFound naming the serial
        raise NotFound(f"no lot {gs1.lot_number_from_scan(text)[0]!r}", field="lot")
    return lot


_CHUNK = 5000  # below SQLite's 32,766 bound parameters, small enough for PostgreSQL's planner


def _reach_cte(lot_id: int, direction: str):
    """Recursive CTE of the distinct lot ids reachable from ``lot_id`` (the root excluded unless cyclic)."""
    mc = MaterialConsumption.__table__.c
    near, far = (mc.parent_lot_id, mc.component_lot_id) if direction == "backward" \
        else (mc.component_lot_id, mc.parent_lot_id)
    reach = select(far.label("lot_id")).where(near == literal(lot_id)).cte("reach", recursive=True)
    step = MaterialConsumption.__table__.alias("step")
    step_near, step_far = (step.c.parent_lot_id, step.c.component_lot_id) if direction == "backward" \
        else (step.c.component_lot_id, step.c.parent_lot_id)
    # UNION (not UNION ALL): a lot enters once however many paths reach it; cycles terminate.
    return reach.union(select(step_far).join(reach, step_near == reach.c.lot_id))


def trace(session: Session, lot: Lot | int, direction: str = "backward") -> Trace:
    """Backward (every component lot, recursively) or forward (every lot that used it) trace."""
    if direction not in ("backward", "forward"):
        raise ValueError(f"direction must be backward or forward, not {direction!r}")
    lot_id = lot if isinstance(lot, int) else lot.id
    conn = session.connection()  # Core rows: thousands of plain tuples, no ORM identity work
    root = [TraceLot(*row) for row in conn.execute(_lot_select().where(Lot.id == lot_id))]
    if not root:
        raise NotFound(f"no lot with id {lot_id}", field="lot")
    result = Trace(direction, root[0])
    reach = _reach_cte(lot_id, direction)
    for row in conn.execute(_lot_select().join(reach, Lot.id == reach.c.lot_id)):
        if row[0] != lot_id:
            result.lots[row[0]] = TraceLot(*row)
    mc = MaterialConsumption.__table__.c
    near = mc.parent_lot_id if direction == "backward" else mc.component_lot_id
    # The edges leaving the lots found, by id in chunks: an IN list gets an index scan, where a
    # join against the CTE is planned from its (much too high) row estimate as a full scan.
    sources = sorted({lot_id, *result.lots})
    cols = (mc.id, mc.parent_lot_id, mc.component_lot_id, mc.quantity, mc.unit)
    for i in range(0, len(sources), _CHUNK):
        result.edges.extend(TraceEdge(*row) for row in conn.execute(
            select(*cols).where(near.in_(sources[i:i + _CHUNK]))))
    result.edges.sort(key=lambda e: e.consumption_id)
    _assign_depths(result)
    return result


def _lot_select():
    sl = aliased(SupplierLot)
    return (select(Lot.id, Lot.lot_number, Item.code, Item.name, Item.item_type, Lot.status, Lot.source,
                   Lot.quantity_made, Lot.quantity_approved, Lot.unit, sl.supplier, sl.supplier_lot_number)
            .select_from(Lot).join(Item, Item.id == Lot.item_id).outerjoin(sl, sl.id == Lot.supplier_lot_id))


def _assign_depths(result: Trace) -> None:
    backward = result.direction == "backward"
    adjacency: dict[int, list[int]] = {}
    for e in result.edges:
        a, b = (e.parent_id, e.component_id) if backward else (e.component_id, e.parent_id)
        adjacency.setdefault(a, []).append(b)
    depth = {result.root.id: 0}
    queue = deque([result.root.id])
    while queue:
        node = queue.popleft()
        for nxt in adjacency.get(node, ()):
            if nxt not in depth:
                depth[nxt] = depth[node] + 1
                queue.append(nxt)
    for lot_id, lot in result.lots.items():
        lot.depth = depth.get(lot_id, 0)


@dataclass
class RecallSimulation:
    """Every finished lot a suspect lot reached, with status and quantities, grouped for action."""

    suspect: TraceLot
    affected: list[TraceLot]
    trace: Trace

    FIELD_STATUSES = ("released",)  # distributed or distributable: a field action is needed
    HELD_STATUSES = ("planned", "in_process", "on_hold", "completed")

    def totals(self) -> dict[str, dict]:
        """Lot count and quantity per status (quantity made, and approved for distribution)."""
        out: dict[str, dict] = {}
        for lot in self.affected:
            t = out.setdefault(lot.status, {"lots": 0, "quantity_made": 0.0, "quantity_approved": 0.0})
            t["lots"] += 1
            t["quantity_made"] += lot.quantity_made
            t["quantity_approved"] += lot.quantity_approved
        return out

    def as_dict(self) -> dict:
        return {"suspect": self.suspect.as_dict(), "affected": [lot.as_dict() for lot in self.affected],
                "totals": self.totals(), "lots_reached": len(self.trace.lots)}


def simulate_recall(session: Session, lot: Lot | int) -> RecallSimulation:
    """Forward-trace a suspect lot and list the finished-good lots it reached (itself, if finished)."""
    forward = trace(session, lot, "forward")
    candidates = [forward.root, *forward.lots.values()]
    affected = sorted((x for x in candidates if x.item_type == "finished_good"),
                      key=lambda x: (x.status not in RecallSimulation.FIELD_STATUSES, x.lot_number))
    return RecallSimulation(forward.root, affected, forward)
