"""The revision life cycle: drafts, review, release (what change control calls), obsolescence.

``release`` makes the previous effective revision obsolete and the new one effective in one
flush, under a row lock on the master (two concurrent releases of the same object serialize;
the partial unique index on ``state = 'released'`` is the backstop).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import Actor, chain
from engine.db import utcnow
from engine.errors import Conflict, NotFound, RevisionRuleViolation, ValidationFailed
from engine.masterdata import boms, copying, document_checks, product_checks, routings
from engine.masterdata.models import (REVISION_CLASSES, BomRevision, DocumentRevision, ProductRevision, RevisionMixin,
                                      RoutingRevision)
from engine.masterdata.models.revisioned import audit_id, object_type
from engine.snapshot import changed_values, row_values
from engine.users.accounts import user_for_actor

# Content fields a draft edit may change, per revision kind.
EDITABLE = {
    "product": ("description", "gtin", "udi_di", "issuing_agency", "device_class", "sterile",
                "sterilisation_method", "shelf_life_months", "registration_number"),
    "bom": ("base_quantity",),
    "routing": (),
    "document": ("title", "body", "file_name", "file_type", "file_content"),
}
COMMON_EDITABLE = ("change_summary", "change_ref")
CLOCK_SKEW = timedelta(minutes=2)
# Each kind's own rules live next to the kind: (its draft's fields, ready for review/release).
KIND_RULES = {
    ProductRevision: (product_checks.check_fields, product_checks.check_ready),
    BomRevision: (boms.check_fields, boms.check_ready),
    RoutingRevision: (routings.check_fields, routings.check_ready),
    DocumentRevision: (document_checks.check_fields, document_checks.check_ready),
}


def revision_class(kind: str) -> type[RevisionMixin]:
    for cls in REVISION_CLASSES:
        if cls.revision_kind == kind:
            return cls
    raise NotFound(f"no revisioned object kind {kind!r}", field="kind")


def _master_fk(cls) -> str:
    return next(iter(cls.master.property.local_columns)).key


def user_id_of(session: Session, actor: Actor) -> int | None:
    """The users.id behind a user actor (None for API clients and the system)."""
    user = user_for_actor(session, actor)
    return user.id if user is not None else None


def effective_revision(session: Session, master) -> RevisionMixin | None:
    """The released (effective) revision of ``master``, or None."""
    cls = type(master).revisions.property.mapper.class_
    fk = getattr(cls, _master_fk(cls))
    return session.scalars(select(cls).where(fk == master.id, cls.state == "released")).first()


def get_effective_revision(session: Session, master) -> RevisionMixin:
    found = effective_revision(session, master)
    if found is None:
        raise NotFound(f"{type(master).__name__.lower()} {master.code} has no released revision", obj=master.code)
    return found


def open_revision(session: Session, master) -> RevisionMixin | None:
    """The draft or in-review revision of ``master`` (at most one is open at a time)."""
    cls = type(master).revisions.property.mapper.class_
    fk = getattr(cls, _master_fk(cls))
    return session.scalars(select(cls).where(fk == master.id, cls.state.in_(("draft", "in_review")))).first()


def next_label(count: int) -> str:
    """Revision labels A, B, … Z, AA, AB, … for the ``count``-th revision (0-based)."""
    label = ""
    n = count + 1
    while n:
        n, rem = divmod(n - 1, 26)
        label = chr(ord("A") + rem) + label
    return label


def _lock_master(session: Session, master) -> None:
    # Serialize life-cycle changes of one object (no-op on SQLite: BEGIN IMMEDIATE already does).
    session.execute(select(type(master).id).where(type(master).id == master.id).with_for_update())


def start_revision(session: Session, actor: Actor, master, *, change_summary: str = "",
                   change_ref: str | None = None, copy_from: RevisionMixin | None = None,
                   **content) -> RevisionMixin:
    """The first draft of a new object (label A) or a blank next draft; audited."""
    cls = type(master).revisions.property.mapper.class_
    _lock_master(session, master)
    if open_revision(session, master) is not None:
        raise Conflict(f"{master.code} already has an open draft or revision in review", obj=master.code,
                       field="state")
    count = len(session.scalars(select(cls.id).where(getattr(cls, _master_fk(cls)) == master.id)).all())
    created_by = user_id_of(session, actor)
    with session.no_autoflush:  # not flushable until its content is complete
        rev = cls(master=master, label=next_label(count), state="draft", change_summary=change_summary,
                  change_ref=change_ref, created_at=utcnow(), created_by_id=created_by)
        session.add(rev)
        if copy_from is not None:
            copying.copy_content(session, copy_from, rev)
        try:
            _apply(rev, content)
        except Exception:
            session.expunge(rev)
            raise
    session.flush()
    chain.append(session, actor, "revision.create_draft", object_type(rev), audit_id(rev),
                 after=row_values(rev, exclude=("id",)),
                 payload={"copied_from": audit_id(copy_from)} if copy_from is not None else None)
    return rev


def new_draft(session: Session, actor: Actor, master, *, change_summary: str,
              change_ref: str | None = None) -> RevisionMixin:
    """A new draft copied from the effective revision (content and child rows); audited."""
    current = get_effective_revision(session, master)
    return start_revision(session, actor, master, change_summary=change_summary, change_ref=change_ref,
                          copy_from=current)


def _apply(rev: RevisionMixin, fields: dict) -> None:
    allowed = set(EDITABLE[rev.revision_kind]) | set(COMMON_EDITABLE)
    for key in fields:
        if key not in allowed:
            raise ValidationFailed(f"{rev.describe()}: field {key!r} cannot be edited "
                                   f"(editable: {', '.join(sorted(allowed))})", field=key, obj=rev.describe())
    old = {key: getattr(rev, key) for key in (*fields, "gtin", "udi_di", "file_sha256") if hasattr(rev, key)}
    for key, value in fields.items():
        setattr(rev, key, value)
    try:
        KIND_RULES[type(rev)][0](rev)
    except Exception:
        for key, value in old.items():  # leave nothing half-applied in the session
            setattr(rev, key, value)
        raise


def edit_draft(session: Session, actor: Actor, revision: RevisionMixin, *, reason: str | None = None,
               **fields) -> RevisionMixin:
    """Change content fields of a draft; anything else is refused before anything is written."""
    if revision.state != "draft":
        raise RevisionRuleViolation(f"{revision.describe()} is {revision.state}: only drafts can be edited",
                                    field="state", obj=revision.describe())
    before = row_values(revision)
    _apply(revision, fields)
    session.flush()
    old, new = changed_values(before, row_values(revision))
    if new:
        chain.append(session, actor, "revision.edit_draft", object_type(revision), audit_id(revision),
                     reason=reason or "draft edit", before=old, after=new)
    return revision


def submit_for_review(session: Session, actor: Actor, revision: RevisionMixin, *,
                      reason: str | None = None) -> RevisionMixin:
    """Freeze a draft for review (content can no longer change unless it is returned to draft)."""
    _expect(revision, "draft", "submitted for review")
    KIND_RULES[type(revision)][1](session, revision)
    who = user_id_of(session, actor)  # query before mutating: autoflush must not split the transition
    revision.state = "in_review"
    revision.submitted_at = utcnow()
    revision.submitted_by_id = who
    session.flush()
    chain.append(session, actor, "revision.submit", object_type(revision), audit_id(revision),
                 reason=reason or "submitted for review", before={"state": "draft"}, after={"state": "in_review"})
    return revision


def return_to_draft(session: Session, actor: Actor, revision: RevisionMixin, *, reason: str) -> RevisionMixin:
    """Send a revision in review back for rework."""
    _expect(revision, "in_review", "returned to draft")
    _require(reason)
    revision.state = "draft"
    revision.submitted_at = None
    revision.submitted_by_id = None
    session.flush()
    chain.append(session, actor, "revision.return_to_draft", object_type(revision), audit_id(revision),
                 reason=reason, before={"state": "in_review"}, after={"state": "draft"})
    return revision


def release(session: Session, actor: Actor, revision: RevisionMixin, *, effective_from: datetime | None = None,
            reason: str) -> RevisionMixin:
    """Make ``revision`` (in review) the effective one; the previous effective revision becomes obsolete.

    Refused with nothing written when: the revision is not in review, the content breaks a
    release rule (BOM cycle, unit, obsolete equipment, GTIN…), ``effective_from`` lies in the
    future or before the previous revision's. Future-dated changes wait (e.g. on a workflow
    timer) and call this when they take effect.
    """
    _require(reason)
    _lock_master(session, revision.master)
    session.refresh(revision, attribute_names=["state"])
    _expect(revision, "in_review", "released (submit it for review first)")
    now = utcnow()
    effective_from = effective_from or now
    if effective_from.tzinfo is None:
        raise ValidationFailed("effective_from must be timezone-aware", field="effective_from",
                               obj=revision.describe())
    if effective_from > now + CLOCK_SKEW:
        raise ValidationFailed(f"{revision.describe()}: effective_from {effective_from.isoformat()} is in the "
                               "future; release it when it takes effect", field="effective_from",
                               obj=revision.describe())
    KIND_RULES[type(revision)][1](session, revision)
    previous = effective_revision(session, revision.master)
    if previous is not None and previous.effective_from and effective_from < previous.effective_from:
        raise ValidationFailed(f"{revision.describe()}: effective_from is before that of the revision it "
                               f"replaces ({previous.describe()}, {previous.effective_from.isoformat()})",
                               field="effective_from", obj=revision.describe())
    who = user_id_of(session, actor)
    if previous is not None:
        previous.state = "obsolete"
        previous.obsoleted_at = now
        previous.obsoleted_by_id = who
        session.flush()  # before the new one is released: one released revision per object
        chain.append(session, actor, "revision.obsolete", object_type(previous), audit_id(previous), reason=reason,
                     before={"state": "released"}, after={"state": "obsolete", "superseded_by": revision.label})
    revision.state = "released"
    revision.effective_from = effective_from
    revision.released_at = now
    revision.released_by_id = who
    session.flush()
    chain.append(session, actor, "revision.release", object_type(revision), audit_id(revision), reason=reason,
                 before={"state": "in_review", "effective": previous.label if previous else None},
                 after={"state": "released", "effective_from": effective_from, "change_ref": revision.change_ref})
    return revision


def obsolete(session: Session, actor: Actor, revision: RevisionMixin, *, reason: str) -> RevisionMixin:
    """Withdraw the effective revision without a successor (the object is no longer used)."""
    _require(reason)
    _expect(revision, "released", "made obsolete")
    if isinstance(revision, DocumentRevision):
        document_checks.check_can_withdraw(session, revision)
    who = user_id_of(session, actor)
    revision.state = "obsolete"
    revision.obsoleted_at = utcnow()
    revision.obsoleted_by_id = who
    session.flush()
    chain.append(session, actor, "revision.obsolete", object_type(revision), audit_id(revision), reason=reason,
                 before={"state": "released"}, after={"state": "obsolete", "superseded_by": None})
    return revision


def discard_draft(session: Session, actor: Actor, revision: RevisionMixin, *, reason: str) -> None:
    """Delete a draft that will not be pursued (released history is never deleted)."""
    _require(reason)
    _expect(revision, "draft", "discarded")
    snapshot = row_values(revision)
    name = audit_id(revision)
    session.delete(revision)
    session.flush()
    chain.append(session, actor, "revision.discard_draft", object_type(revision), name, reason=reason,
                 before=snapshot, after=None)


def _expect(revision: RevisionMixin, state: str, what: str) -> None:
    if revision.state != state:
        raise RevisionRuleViolation(f"{revision.describe()} is {revision.state}; only a revision that is "
                                    f"{state} can be {what}", field="state", obj=revision.describe())


def _require(reason: str | None) -> None:
    if not reason or not str(reason).strip():
        raise ValidationFailed("a reason is required", field="reason")
