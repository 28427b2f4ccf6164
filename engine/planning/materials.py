"""Material for the plan: only released lots (received supplier lots, or released made lots) that
have not expired, net of what has been consumed from them, shared out to planned lots in order of
urgency — a quantity promised to one lot is not promised again to the next."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.masterdata import units
from engine.masterdata.models import BomRevision
from engine.production.interlocks import Blocker
from engine.production.lots import consumed_from
from engine.production.models import Lot


class MaterialLedger:
    """What is left of each component item in released lots, as the plan allocates it."""

    def __init__(self, session: Session, day: date):
        self.s, self.day = session, day
        self._left: dict[int, float] = {}

    def on_hand(self, item_id: int) -> float:
        """Released, unexpired quantity of ``item_id`` not yet consumed nor allocated (base unit)."""
        if item_id not in self._left:
            rows = self.s.scalars(select(Lot).where(Lot.item_id == item_id, Lot.status == "released"))
            self._left[item_id] = sum(
                max(0.0, (lot.quantity_approved or lot.quantity_made) - consumed_from(self.s, lot))
                for lot in rows if lot.expires_on is None or lot.expires_on >= self.day)
        return self._left[item_id]

    def allocate(self, lot: Lot, bom: BomRevision | None) -> list[Blocker]:
        """Allocate what ``lot`` needs by its BOM; a blocker per component short (nothing allocated then)."""
        if bom is None:
            return []
        needs = []
        for line in bom.lines:
            base = line.component.base_unit
            need = units.convert(line.quantity / (bom.base_quantity or 1.0) * lot.quantity_planned, line.unit, base)
            needs.append((line.component, need))
        short = [(item, need, self.on_hand(item.id)) for item, need in needs if self.on_hand(item.id) + 1e-9 < need]
        if short:
            return [Blocker("material_short", "material", item.code,
                            f"material {item.code}: {need:g} {item.base_unit} needed, {have:g} {item.base_unit} "
                            "left in released lots (after more urgent planned lots)")
                    for item, need, have in short]
        for item, need in needs:
            self._left[item.id] -= need
        return []
