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

from sqlalchemy import literal, select, union
from sqlalchemy.orm import Session, aliased

from engine.errors import NotFound
from engine.masterdata.models import Item
from engine.production.models import Lot, MaterialConsumption, SupplierLot
from engine.trace import gs1


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

    def children(self, lot_id: int) -> list[tuple[TraceEdge, TraceLot]]:
        """The next lots from ``lot_id`` away from the root, in lot-number order."""
        nxt = [(e, self.lot(e.component_id if self.direction == "backward" else e.parent_id))
               for e in self.edges if (e.parent_id if self.direction == "backward" else e.component_id) == lot_id]
        return sorted(nxt, key=lambda pair: pair[1].lot_number)

    def tree(self, lot_id: int | None = None, _seen: frozenset = frozenset()) -> dict:
        """Nested ``{"lot": …, "quantity": …, "children": […]}``; a lot reached twice is expanded each time."""
        lot_id = self.root.id if lot_id is None else lot_id
        node = {"lot": self.lot(lot_id).as_dict(), "children": []}
        if lot_id in _seen:  # only possible in corrupt (cyclic) data
            node["cycle"] = True
            return node
        for edge, child in self.children(lot_id):
            sub = self.tree(child.id, _seen | {lot_id})
            sub["quantity"], sub["unit"] = edge.quantity, edge.unit
            node["children"].append(sub)
        return node

    def as_dict(self) -> dict:
        return {"direction": self.direction, "root": self.root.as_dict(), "lot_count": len(self.lots),
                "edge_count": len(self.edges), "max_depth": self.max_depth, "tree": self.tree()}


def find_lot(session: Session, text: str) -> Lot | None:
    """The lot for a typed lot number or a scanned GS1 string (AI 10), or None."""
    number, _ = gs1.lot_number_from_scan(text)
    return session.scalars(select(Lot).where(Lot.lot_number == number)).one_or_none()


def get_lot(session: Session, text: str) -> Lot:
    """Like ``find_lot`` but raises NotFound naming the lot."""
    lot = find_lot(session, text)
    if lot is None:
        raise NotFound(f"no lot {gs1.lot_number_from_scan(text)[0]!r}", field="lot")
    return lot


def _edge_cte(lot_id: int, direction: str):
    mc = MaterialConsumption.__table__.c
    start_col = mc.parent_lot_id if direction == "backward" else mc.component_lot_id
    cols = (mc.id, mc.parent_lot_id, mc.component_lot_id, mc.quantity, mc.unit)
    seed = select(*cols).where(start_col == literal(lot_id))
    cte = seed.cte("edges", recursive=True)
    step_table = MaterialConsumption.__table__.alias("step")
    sc = step_table.c
    step_start = sc.parent_lot_id if direction == "backward" else sc.component_lot_id
    frontier = cte.c.component_lot_id if direction == "backward" else cte.c.parent_lot_id
    step = select(sc.id, sc.parent_lot_id, sc.component_lot_id, sc.quantity, sc.unit) \
        .join(cte, step_start == frontier)
    return cte.union(step)


def trace(session: Session, lot: Lot | int, direction: str = "backward") -> Trace:
    """Backward (every component lot, recursively) or forward (every lot that used it) trace."""
    if direction not in ("backward", "forward"):
        raise ValueError(f"direction must be backward or forward, not {direction!r}")
    lot_id = lot if isinstance(lot, int) else lot.id
    edges_cte = _edge_cte(lot_id, direction)
    edges = [TraceEdge(*row) for row in session.execute(select(edges_cte))]
    far = "component_lot_id" if direction == "backward" else "parent_lot_id"
    lots = _load_lots(session, edges_cte, far, lot_id)
    if lot_id not in lots:
        raise NotFound(f"no lot with id {lot_id}", field="lot")
    result = Trace(direction, lots.pop(lot_id), lots, edges)
    _assign_depths(result)
    return result


def _load_lots(session: Session, edges_cte, far: str, root_id: int) -> dict[int, TraceLot]:
    ids = select(getattr(edges_cte.c, far).label("lot_id")).union(select(literal(root_id))).subquery()
    sl = aliased(SupplierLot)
    query = (select(Lot.id, Lot.lot_number, Item.code, Item.name, Item.item_type, Lot.status, Lot.source,
                    Lot.quantity_made, Lot.quantity_approved, Lot.unit, sl.supplier, sl.supplier_lot_number)
             .join(ids, ids.c.lot_id == Lot.id).join(Item, Item.id == Lot.item_id)
             .outerjoin(sl, sl.id == Lot.supplier_lot_id))
    return {row[0]: TraceLot(*row) for row in session.execute(query)}


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
