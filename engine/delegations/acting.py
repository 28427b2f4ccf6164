"""Delegation of roles (Part 11 in mind): a delegation names who lets whom act in which roles (and
processes), from when until when, and why; it is signed by whoever creates it and audited. While it
runs, the delegate may complete tasks of those lanes for the delegator: the completion manifests
both names ("李娜 / Li Na for 赵敏 / Zhao Min") and segregation of duties is checked against both.
A delegate never gets a role the delegator no longer holds, nor one the delegator is not active for.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import Actor, chain
from engine.delegations.models import Delegation
from engine.errors import Conflict, Forbidden, ValidationFailed
from engine.masterdata.revisions import user_id_of
from engine.users.models import ROLES, User

MAX_DAYS = 90
MAX_REASON = 2000


def _row(d: Delegation) -> dict:
    return {"delegator": d.delegator.username, "delegate": d.delegate.username, "roles": list(d.roles),
            "process_ids": list(d.process_ids), "valid_from": d.valid_from.isoformat(),
            "valid_until": d.valid_until.isoformat(), "reason": d.reason}


def create_delegation(session: Session, actor: Actor, *, delegator: User, delegate: User, roles: list[str],
                      process_ids: list[str] = (), valid_from: datetime, valid_until: datetime, reason: str,
                      now: datetime) -> Delegation:
    """A new delegation (flush, audited); the caller has it signed in the same transaction."""
    roles, process_ids, reason = sorted(set(roles or ())), sorted(set(process_ids or ())), (reason or "").strip()
    if delegator.id == delegate.id:
        raise ValidationFailed("a person cannot delegate to themselves", field="delegate")
    if not delegate.active or not delegator.active:
        raise ValidationFailed("both people must have active accounts", field="delegate")
    if not roles or set(roles) - set(ROLES):
        raise ValidationFailed(f"roles must be some of {', '.join(ROLES)}", field="roles")
    missing = set(roles) - set(delegator.roles)
    if missing:
        raise ValidationFailed(f"{delegator.username} does not hold {', '.join(sorted(missing))}: only roles "
                               "one holds can be delegated", field="roles")
    if "admin" in roles:
        raise ValidationFailed("the admin role is never delegated", field="roles")
    if valid_until <= valid_from or valid_until - valid_from > timedelta(days=MAX_DAYS):
        raise ValidationFailed(f"the delegation must end after it starts and last at most {MAX_DAYS} days",
                               field="valid_until")
    if valid_until <= now:
        raise ValidationFailed("the delegation would already be over", field="valid_until")
    if not reason or len(reason) > MAX_REASON:
        raise ValidationFailed(f"say why (1 to {MAX_REASON} characters)", field="reason")
    row = Delegation(delegator_id=delegator.id, delegate_id=delegate.id, roles=roles, process_ids=process_ids,
                     valid_from=valid_from, valid_until=valid_until, reason=reason, created_at=now,
                     created_by_id=user_id_of(session, actor))
    session.add(row)
    session.flush()
    chain.append(session, actor, "delegation.created", "delegation", str(row.id), reason=reason, after=_row(row))
    return row


def revoke_delegation(session: Session, actor: Actor, delegation: Delegation, *, reason: str,
                      now: datetime) -> Delegation:
    """End a delegation now (audited)."""
    if delegation.revoked_at is not None:
        raise Conflict(f"delegation {delegation.id} was already revoked", field="delegation")
    if not (reason or "").strip():
        raise ValidationFailed("say why the delegation ends early", field="reason")
    delegation.revoked_at, delegation.revoked_by_id = now, user_id_of(session, actor)
    delegation.revoke_reason = reason.strip()[:500]
    session.flush()
    chain.append(session, actor, "delegation.revoked", "delegation", str(delegation.id), reason=reason.strip(),
                 before={"revoked_at": None}, after={"revoked_at": now.isoformat()})
    return delegation


def active_delegations(session: Session, delegate: User, at: datetime) -> list[Delegation]:
    """The delegations ``delegate`` may act under at ``at`` (oldest first)."""
    rows = session.scalars(select(Delegation).where(
        Delegation.delegate_id == delegate.id, Delegation.revoked_at.is_(None),
        Delegation.valid_from <= at, Delegation.valid_until > at).order_by(Delegation.id))
    return [d for d in rows if d.delegator.active]


def acting_for(session: Session, user: User, *, role: str, process_id: str, at: datetime) -> Delegation | None:
    """The delegation under which ``user`` may act in ``role`` for ``process_id`` at ``at``, if any
    (the delegator must still hold the role)."""
    for d in active_delegations(session, user, at):
        if role in d.roles and role in d.delegator.roles and (not d.process_ids or process_id in d.process_ids):
            return d
    return None


def on_behalf_name(user: User, delegation: Delegation) -> str:
    """The manifestation of a signature given under a delegation: both names."""
    return f"{user.printed_name} for {delegation.delegator.printed_name}"


@dataclass(frozen=True)
class Viewer:
    """Whose tasks a person sees (engine.workflows.visibility): their own roles, and the lanes
    delegated to them now — ``(role, process ids)``, no process ids meaning every process."""

    id: int
    roles: frozenset[str]
    delegated: tuple[tuple[str, tuple[str, ...]], ...] = ()


def delegated_lanes(session: Session, user, at: datetime) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The lanes ``user`` may act in for someone else at ``at`` (the same test as :func:`acting_for`)."""
    lanes = []
    for d in active_delegations(session, user, at):
        lanes += [(role, tuple(d.process_ids)) for role in d.roles if role in d.delegator.roles]
    return tuple(lanes)


def viewer_for(session: Session, user, at: datetime) -> Viewer:
    """``user`` as the visibility rule sees them at ``at``, delegated lanes included."""
    return Viewer(id=user.id, roles=frozenset(user.roles), delegated=delegated_lanes(session, user, at))


def check_may_sign_for(user: User, delegator: User) -> None:
    """Only the delegator, or an administrator, signs (creates or revokes) a delegation of the
    delegator's roles; Forbidden otherwise."""
    if user.id != delegator.id and "admin" not in user.roles:
        raise Forbidden(f"only {delegator.username} or an administrator signs a delegation of "
                        f"{delegator.username}'s roles", field="delegator")


def delegations_of(session: Session, user: User) -> list[Delegation]:
    """The delegations ``user`` gave or received (an administrator: all), newest first."""
    query = select(Delegation).order_by(Delegation.id.desc())
    if "admin" not in user.roles:
        query = query.where((Delegation.delegator_id == user.id) | (Delegation.delegate_id == user.id))
    return list(session.scalars(query.limit(500)))
