"""Trace fixtures: generated genealogies written with bulk inserts."""
from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from sqlalchemy import insert

from engine.masterdata.models import Item
from engine.production.models import Lot, MaterialConsumption, SupplierLot

LAYER_TYPES = ("finished_good", "subassembly", "component", "raw_material")


@dataclass
class Genealogy:
    """Lot ids by layer (0 = finished goods) and consumption edges (parent id, component id)."""

    layers: list[list[int]]
    edges: list[tuple[int, int]]
    numbers: dict[int, str]


def make_genealogy(session, *, seed: int, layers: int = 4, width: int = 12, fan: int = 3,
                   prefix: str = "G") -> Genealogy:
    """A layered random DAG: every lot of layer i consumes ``fan`` random lots of layer i+1."""
    rng = random.Random(seed)
    item_ids = []
    for depth in range(layers):
        kind = LAYER_TYPES[min(depth, len(LAYER_TYPES) - 1)] if depth < layers - 1 else "raw_material"
        item_ids.append(session.execute(insert(Item).values(
            code=f"{prefix}{seed}-I{depth}", name=f"Item {depth}", item_type=kind, base_unit="pcs",
            purchased=depth == layers - 1)).inserted_primary_key[0])
    lot_rows, numbers = [], {}
    for depth in range(layers):
        for j in range(width):
            lot_rows.append({"lot_number": f"{prefix}{seed}-L{depth}-{j:03d}", "item_id": item_ids[depth],
                             "unit": "pcs", "status": rng.choice(["released", "completed", "on_hold"]),
                             "source": "purchased" if depth == layers - 1 else "made",
                             "quantity_made": 100.0, "quantity_approved": 90.0})
    session.execute(insert(Lot), lot_rows)
    session.flush()
    ids = {number: i for i, number in session.execute(
        Lot.__table__.select().with_only_columns(Lot.id, Lot.lot_number)
        .where(Lot.lot_number.like(f"{prefix}{seed}-%")))}
    by_layer = [[ids[f"{prefix}{seed}-L{d}-{j:03d}"] for j in range(width)] for d in range(layers)]
    edges = set()
    for depth in range(layers - 1):
        for parent in by_layer[depth]:
            for child in rng.sample(by_layer[depth + 1], fan):
                edges.add((parent, child))
    session.execute(insert(MaterialConsumption), [
        {"parent_lot_id": p, "component_lot_id": c, "quantity": 1.0, "unit": "pcs"} for p, c in sorted(edges)])
    session.flush()
    return Genealogy(by_layer, sorted(edges), {v: k for k, v in ids.items()})


@pytest.fixture()
def genealogy_factory(session):
    def factory(**kw):
        return make_genealogy(session, **kw)
    return factory


def make_supplier_lot(session, item_id: int, supplier: str, number: str) -> int:
    import datetime as dt

    return session.execute(insert(SupplierLot).values(
        item_id=item_id, supplier=supplier, supplier_lot_number=number, received_on=dt.date(2026, 10, 1),
        quantity_received=1000.0, unit="pcs")).inserted_primary_key[0]
