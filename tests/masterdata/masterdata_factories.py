"""Master-data factories: plain functions that flush, never commit."""
from __future__ import annotations

import pytest

from audit import Actor
from engine.masterdata import boms, catalog, revisions, routings

ACTOR = Actor(kind="system", id="tests", name="Test Suite")


def make_item(session, code, *, unit="pcs", item_type="component", purchased=True):
    return catalog.create_item(session, ACTOR, code=code, name=f"{code} name", item_type=item_type, base_unit=unit,
                               purchased=purchased)


def release_now(session, rev, reason="test release"):
    revisions.submit_for_review(session, ACTOR, rev)
    return revisions.release(session, ACTOR, rev, reason=reason)


def make_released_bom(session, parent, lines):
    """A released BOM for ``parent`` with ``lines`` = [(item, qty, unit)]."""
    _, rev = catalog.create_bom(session, ACTOR, code=f"BOM-{parent.code}", name=parent.name, item=parent)
    for item, qty, unit in lines:
        boms.add_line(session, ACTOR, rev, component=item, quantity=qty, unit=unit)
    return release_now(session, rev)


def make_routing(session, item, *, equipment=()):
    _, rev = catalog.create_routing(session, ACTOR, code=f"RT-{item.code}", name=item.name, item=item)
    op = routings.add_operation(session, ACTOR, rev, sequence=10, code="ASM", name="Assembly",
                                work_centre="WC1", equipment=list(equipment))
    routings.add_parameter(session, ACTOR, op, name="Temperature", unit="degC", target=25, lsl=20, usl=30)
    return rev


@pytest.fixture()
def actor():
    return ACTOR
