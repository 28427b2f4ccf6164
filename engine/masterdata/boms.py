"""BOM lines on drafts: units convertible to the component's base unit, no cycles across levels."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from audit import Actor, chain
from engine.errors import CycleError, NotFound, RevisionRuleViolation, ValidationFailed
from engine.masterdata import units
from engine.masterdata.models import Bom, BomLine, BomRevision, Item
from engine.masterdata.models.products import DEFAULT_TOLERANCE_PCT
from engine.masterdata.models.revisioned import audit_id
from engine.snapshot import changed_values, row_values

LINE_FIELDS = ("component", "quantity", "unit", "tolerance_pct", "position", "reference", "notes")


def _draft(rev: BomRevision) -> None:
    if rev.state != "draft":
        raise RevisionRuleViolation(f"{rev.describe()} is {rev.state}: lines can only change on a draft",
                                    field="lines", obj=rev.describe())


def check_line(line: BomLine, rev: BomRevision | None = None) -> None:
    """Quantity positive, unit convertible to the component's base unit, component active."""
    rev = rev if rev is not None else line.revision
    obj = f"{rev.describe()} line {line.position}" if rev is not None else f"BOM line {line.position}"
    comp = line.component
    if comp is None:
        raise ValidationFailed(f"{obj}: component is required", field="component", obj=obj)
    if line.quantity is None or not line.quantity > 0:
        raise ValidationFailed(f"{obj}: quantity must be greater than zero", field="quantity", obj=obj)
    tolerance = line.tolerance_pct
    if tolerance is not None and not 0 <= tolerance <= 100:
        raise ValidationFailed(f"{obj}: tolerance_pct must be between 0 and 100", field="tolerance_pct", obj=obj)
    units.check_convertible(line.unit, comp.base_unit, field="unit", obj=f"{obj} ({comp.code})")
    if not comp.active:
        raise ValidationFailed(f"{obj}: component {comp.code} is inactive", field="component", obj=obj)
    if rev is not None and rev.master is not None and comp.id == rev.master.item_id:
        raise CycleError(f"{obj}: BOM cycle: {comp.code} contains itself", field="component", obj=obj)


def _effective_graph(session: Session) -> dict[int, list[tuple[int, str]]]:
    """item_id → [(component item_id, component code)] over every released BOM revision."""
    graph: dict[int, list[tuple[int, str]]] = {}
    revs = session.scalars(select(BomRevision).where(BomRevision.state == "released")
                           .options(selectinload(BomRevision.lines).selectinload(BomLine.component),
                                    selectinload(BomRevision.master)))
    for rev in revs:
        graph[rev.master.item_id] = [(ln.component_id, ln.component.code) for ln in rev.lines]
    return graph


def check_no_cycle(session: Session, candidate: BomRevision, extra: tuple[Item, ...] = ()) -> None:
    """Refuse ``candidate`` (plus ``extra`` components about to be added) if, with it effective
    in place of its BOM's current revision, a BOM would contain itself at any level
    (A contains B contains A)."""
    with session.no_autoflush:
        graph = _effective_graph(session)
    root = candidate.master.item_id
    graph[root] = [(ln.component.id, ln.component.code) for ln in candidate.lines]
    graph[root] += [(item.id, item.code) for item in extra]
    codes = {root: candidate.master.item.code}
    stack = [(root, [codes[root]])]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        for child, code in graph.get(node, []):
            if child == root:
                chain_text = " → ".join([*path, code])
                raise CycleError(f"{candidate.describe()}: BOM cycle {chain_text} (bom_lines.component)",
                                 field="component", obj=candidate.describe())
            if child not in seen:
                seen.add(child)
                stack.append((child, [*path, code]))


def add_line(session: Session, actor: Actor, rev: BomRevision, *, component: Item, quantity: float, unit: str,
             position: int | None = None, reference: str = "", notes: str = "",
             tolerance_pct: float = DEFAULT_TOLERANCE_PCT) -> BomLine:
    """Add a line to a draft BOM; refused (nothing written) on a bad unit, quantity or a cycle."""
    _draft(rev)
    if position is None:
        position = max((ln.position for ln in rev.lines), default=0) + 10
    if any(ln.position == position for ln in rev.lines):
        raise ValidationFailed(f"{rev.describe()}: position {position} is taken", field="position",
                               obj=rev.describe())
    line = BomLine(component=component, quantity=quantity, unit=unit, position=position, reference=reference,
                   notes=notes, tolerance_pct=tolerance_pct)
    check_line(line, rev)
    check_no_cycle(session, rev, extra=(component,))
    rev.lines.append(line)
    session.flush()
    chain.append(session, actor, "bom.add_line", "bom_revision", audit_id(rev),
                 after={"position": position, "component": component.code, "quantity": quantity, "unit": unit,
                        "tolerance_pct": tolerance_pct, "reference": reference})
    return line


def update_line(session: Session, actor: Actor, line: BomLine, *, reason: str | None = None, **fields) -> BomLine:
    """Change a line of a draft BOM (quantity, unit, component, position, reference, notes)."""
    rev = line.revision
    _draft(rev)
    unknown = set(fields) - set(LINE_FIELDS)
    if unknown:
        raise ValidationFailed(f"unknown BOM line field(s) {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    before = row_values(line)
    old_values = {k: getattr(line, k) for k in fields}
    for key, value in fields.items():
        setattr(line, key, value)
    try:
        with session.no_autoflush:
            check_line(line)
            check_no_cycle(session, rev)
    except Exception:
        for key, value in old_values.items():
            setattr(line, key, value)
        raise
    session.flush()
    old, new = changed_values(before, row_values(line))
    if new:
        chain.append(session, actor, "bom.update_line", "bom_revision", audit_id(rev),
                     reason=reason or "draft edit", before={"position": line.position, **old},
                     after={"position": line.position, **new})
    return line


def remove_line(session: Session, actor: Actor, line: BomLine, *, reason: str | None = None) -> None:
    """Remove a line from a draft BOM."""
    rev = line.revision
    _draft(rev)
    snapshot = {"position": line.position, "component": line.component.code, "quantity": line.quantity,
                "unit": line.unit}
    rev.lines.remove(line)
    session.flush()
    chain.append(session, actor, "bom.remove_line", "bom_revision", audit_id(rev), reason=reason or "draft edit",
                 before=snapshot, after=None)


def find_bom_for_item(session: Session, item: Item) -> Bom | None:
    return session.scalars(select(Bom).where(Bom.item_id == item.id)).first()


def get_bom(session: Session, code: str) -> Bom:
    bom = session.scalars(select(Bom).where(Bom.code == code)).first()
    if bom is None:
        raise NotFound(f"BOM {code!r} does not exist", field="code")
    return bom


def check_fields(rev: BomRevision) -> None:
    """Field-level checks of a BOM draft's own columns (lines are checked where they are added)."""
    if rev.base_quantity is not None and rev.base_quantity <= 0:
        raise ValidationFailed(f"{rev.describe()}: base_quantity must be positive", field="base_quantity",
                               obj=rev.describe())


def check_ready(session: Session, rev: BomRevision) -> None:
    """What must hold before a BOM revision is reviewed or released: lines, all valid, no cycle."""
    if not rev.lines:
        raise ValidationFailed(f"{rev.describe()}: a BOM needs at least one line", field="lines", obj=rev.describe())
    for line in rev.lines:
        check_line(line)
    check_no_cycle(session, rev)
