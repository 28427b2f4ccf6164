"""Genealogy traces on generated plants agree with a brute-force walk over the edges."""
import pytest
from sqlalchemy import insert, select, update

from engine.errors import NotFound, ValidationFailed
from engine.production.models import Lot, MaterialConsumption
from engine.trace import genealogy
from tests.trace.conftest import make_supplier_lot


def brute_force(edges, start, direction):
    """Reachable lots and their shortest distance, by repeated scans of the whole edge list."""
    depth, frontier, d = {}, {start}, 0
    while frontier:
        d += 1
        nxt = set()
        for parent, component in edges:
            a, b = (parent, component) if direction == "backward" else (component, parent)
            if a in frontier and b not in depth and b != start:
                nxt.add(b)
        for lot in nxt:
            depth[lot] = d
        frontier = nxt
    return depth


@pytest.mark.requirement("ISO13485-7.5.9")
@pytest.mark.parametrize("seed,layers,width,fan", [(1, 4, 10, 3), (2, 6, 8, 2), (3, 3, 20, 5), (4, 7, 5, 2)])
def test_backward_and_forward_match_brute_force(session, genealogy_factory, seed, layers, width, fan):
    g = genealogy_factory(seed=seed, layers=layers, width=width, fan=fan)
    for start in (g.layers[0][0], g.layers[len(g.layers) // 2][1]):
        t = genealogy.trace(session, start, "backward")
        assert {i: lot.depth for i, lot in t.lots.items()} == brute_force(g.edges, start, "backward")
        assert {(e.parent_id, e.component_id) for e in t.edges} == {
            (p, c) for p, c in g.edges if p == start or p in t.lots}
    for start in (g.layers[-1][0], g.layers[-2][3]):
        t = genealogy.trace(session, start, "forward")
        assert {i: lot.depth for i, lot in t.lots.items()} == brute_force(g.edges, start, "forward")


@pytest.mark.requirement("ISO13485-7.5.9")
def test_tree_shape_lot_details_and_supplier_lots(session, genealogy_factory):
    g = genealogy_factory(seed=7, layers=3, width=4, fan=2)
    raw = g.layers[-1][0]
    lot = session.get(Lot, raw)
    lot.supplier_lot_id = make_supplier_lot(session, lot.item_id, "Shandong Polymer 山东高分子", "SP-88812")
    session.flush()
    parent = next(p for p, c in g.edges if c == raw)
    top = next(p for p, c in g.edges if c == parent)
    t = genealogy.trace(session, top, "backward")
    tree = t.tree()
    assert tree["lot"]["lot_number"] == g.numbers[top] and len(tree["children"]) == 2
    sub = next(ch for ch in tree["children"] if ch["lot"]["id"] == parent)
    leaf = next(ch for ch in sub["children"] if ch["lot"]["id"] == raw)
    assert leaf["lot"]["supplier_lot_number"] == "SP-88812" and leaf["lot"]["depth"] == 2
    assert leaf["quantity"] == 1.0 and leaf["lot"]["item_type"] == "raw_material"
    assert t.as_dict()["max_depth"] == 2


@pytest.mark.requirement("ISO13485-7.5.9")
def test_leaf_lot_has_an_empty_trace_and_unknown_lots_are_refused(session, genealogy_factory):
    g = genealogy_factory(seed=8, layers=2, width=3, fan=1)
    t = genealogy.trace(session, g.layers[-1][0], "backward")
    assert t.lots == {} and t.tree()["children"] == []
    with pytest.raises(NotFound):
        genealogy.trace(session, 10**9, "backward")
    with pytest.raises(NotFound, match="'NOPE-1'"):
        genealogy.get_lot(session, "NOPE-1")


@pytest.mark.requirement("ISO13485-7.5.8", "ISO13485-7.5.9")
def test_lookup_by_scanned_gs1_string(session, genealogy_factory):
    g = genealogy_factory(seed=9, layers=2, width=2, fan=1)
    number = g.numbers[g.layers[0][1]]
    assert genealogy.get_lot(session, f"]C10109506000134352\x1d10{number}").id == g.layers[0][1]
    assert genealogy.get_lot(session, f"(01)09506000134352(10){number}").id == g.layers[0][1]
    with pytest.raises(ValidationFailed):
        genealogy.get_lot(session, "(01)09506000134353(10)X")


@pytest.mark.requirement("ISO13485-7.5.9")
def test_corrupt_cyclic_genealogy_terminates(session, genealogy_factory):
    g = genealogy_factory(seed=10, layers=3, width=3, fan=1)
    top = g.layers[0][0]
    bottom = next(lot for lot, d in brute_force(g.edges, top, "backward").items() if d == 2)
    session.execute(insert(MaterialConsumption).values(parent_lot_id=bottom, component_lot_id=top,
                                                       quantity=1.0, unit="pcs"))
    t = genealogy.trace(session, top, "backward")
    assert top not in t.lots  # the root is not listed among its own components…
    assert any(e.component_id == top for e in t.edges)  # …but the corrupt edge is visible
    assert "cycle" in str(t.tree())


@pytest.mark.requirement("ISO13485-7.5.9")
def test_recall_simulation_lists_every_finished_lot_reached(session, genealogy_factory):
    g = genealogy_factory(seed=11, layers=4, width=6, fan=2)
    suspect = g.layers[-1][2]
    reached = brute_force(g.edges, suspect, "forward")
    finished = {lot for lot in reached if lot in g.layers[0]}
    session.execute(update(Lot).where(Lot.id == sorted(finished)[0]).values(status="released"))
    sim = genealogy.simulate_recall(session, suspect)
    assert {lot.id for lot in sim.affected} == finished
    assert sim.affected[0].status == "released"  # lots in the field come first
    totals = sim.totals()
    assert sum(t["lots"] for t in totals.values()) == len(finished)
    assert sum(t["quantity_made"] for t in totals.values()) == 100.0 * len(finished)
    made = session.scalars(select(Lot.quantity_made).where(Lot.id.in_(finished))).all()
    assert sum(made) == 100.0 * len(finished)
