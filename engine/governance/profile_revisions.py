"""Sharing profiles as released records (#18): drafts edited and checked by ``parse_profile``,
diffed against the released revision, released only by an implemented change request (the
change-control process, engine.processes.profile_changes), superseded by the next release and
never edited once released. Packages and profile-bound API tokens read the released revision.

Every write is audited in the caller's transaction (flush, no commit). One released and at most
one open (draft or in review) revision per profile: partial unique indexes back the checks.
"""
from __future__ import annotations

import difflib
import tomllib
from dataclasses import replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit import Actor, chain
from engine.access.models import ApiToken
from engine.db import utcnow
from engine.errors import Conflict, NotFound, RevisionRuleViolation, ValidationFailed
from engine.governance.models import ShareProfileRevision
from engine.governance.profiles import NAME_PATTERN, Profile, ProfileError, parse_profile, shipped_profiles

OBJECT_TYPE = "share_profile_revision"
MAX_CONTENT_CHARS = 20_000
SHIPPED_REASON = "shipped with Sealtrail"


def audit_id(rev: ShareProfileRevision) -> str:
    return f"{rev.name}:{rev.revision}"


def find_released(session: Session, name: str) -> ShareProfileRevision | None:
    """The released revision of profile ``name``, or None."""
    return session.scalar(select(ShareProfileRevision).where(ShareProfileRevision.name == name,
                                                             ShareProfileRevision.status == "released"))


def released_names(session: Session) -> list[str]:
    """The profiles that have a released revision."""
    return list(session.scalars(select(ShareProfileRevision.name).where(ShareProfileRevision.status == "released")
                                .order_by(ShareProfileRevision.name)))


def released_profile(session: Session, name: str) -> Profile:
    """The released revision of profile ``name`` as a Profile (never a draft); NotFound names the known ones."""
    rev = find_released(session, name) if NAME_PATTERN.match(name or "") else None
    if rev is None:
        raise NotFound(f"no released sharing profile {name!r}; released: {', '.join(released_names(session))}",
                       field="profile")
    profile = parse_profile(rev.name, rev.content.encode("utf-8"))
    if profile.sha256 != rev.sha256:  # the row was altered behind change control
        raise Conflict(f"{rev.describe()} does not match its recorded SHA-256: refused", field="profile")
    return replace(profile, revision=rev.revision)


def open_revision(session: Session, name: str) -> ShareProfileRevision | None:
    """The draft or in-review revision of profile ``name`` (at most one)."""
    return session.scalar(select(ShareProfileRevision).where(
        ShareProfileRevision.name == name, ShareProfileRevision.status.in_(("draft", "in_review"))))


def history(session: Session, name: str) -> list[ShareProfileRevision]:
    """Every revision of profile ``name``, newest first."""
    return list(session.scalars(select(ShareProfileRevision).where(ShareProfileRevision.name == name)
                                .order_by(ShareProfileRevision.revision.desc())))


def all_names(session: Session) -> list[str]:
    """Every profile with at least one revision (released or not)."""
    return list(session.scalars(select(ShareProfileRevision.name).distinct().order_by(ShareProfileRevision.name)))


def check_content(name: str, content: str) -> Profile:
    """The Profile ``content`` describes; ValidationFailed (field ``content``) names what is wrong."""
    if not NAME_PATTERN.match(name or ""):
        raise ValidationFailed("a profile name is lower-case letters, digits and '-', at most 40, starting with "
                               "a letter", field="name")
    if not content.strip() or len(content) > MAX_CONTENT_CHARS:
        raise ValidationFailed(f"give the profile's TOML text (1 to {MAX_CONTENT_CHARS} characters)", field="content")
    try:
        return parse_profile(name, content.encode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValidationFailed(f"profile {name}: not valid TOML ({exc})", field="content") from None
    except (ProfileError, TypeError, AttributeError) as exc:
        # TypeError/AttributeError: a key of the wrong shape (e.g. ``tables = 3``)
        raise ValidationFailed(str(exc) if isinstance(exc, ProfileError) else
                               f"profile {name}: a key has the wrong type ({exc})", field="content") from None


def install_shipped(session: Session, actor: Actor) -> list[str]:
    """Release the shipped profiles that have no revision yet as their revision 1 (audited); a
    profile already installed is left alone, whatever the shipped file says."""
    installed = []
    known = set(all_names(session))
    for name, raw in shipped_profiles().items():
        if name in known:
            continue
        profile = parse_profile(name, raw)
        now = utcnow()
        rev = ShareProfileRevision(name=name, revision=1, title=profile.title, content=raw.decode("utf-8"),
                                   sha256=profile.sha256, status="released", reason=SHIPPED_REASON, created_at=now,
                                   created_by_id=actor.id, created_by_name=actor.name, released_at=now,
                                   released_by_id=actor.id, released_by_name=actor.name)
        session.add(rev)
        session.flush()
        chain.append(session, actor, "share_profile.installed", OBJECT_TYPE, audit_id(rev), reason=SHIPPED_REASON,
                     after={**rev.summary(), "title": rev.title})
        installed.append(name)
    return installed


def save_draft(session: Session, actor: Actor, name: str, content: str, *, reason: str) -> ShareProfileRevision:
    """Create the next draft of profile ``name`` (a new profile: revision 1) or change its open draft.

    The content must parse (``parse_profile``); a revision in review or released is refused."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("say why the profile changes", field="reason")
    profile = check_content(name, content)
    rev = open_revision(session, name)
    if rev is not None and rev.status != "draft":
        raise RevisionRuleViolation(f"{rev.describe()} is in review under {rev.change_ref or 'a change request'}: "
                                    "it changes only when returned to draft", field="status", obj=rev.describe())
    if rev is None:
        number = (session.scalar(select(func.max(ShareProfileRevision.revision))
                                 .where(ShareProfileRevision.name == name)) or 0) + 1
        rev = ShareProfileRevision(name=name, revision=number, title=profile.title, content=content,
                                   sha256=profile.sha256, status="draft", reason=reason, created_at=utcnow(),
                                   created_by_id=actor.id, created_by_name=actor.name)
        session.add(rev)
        session.flush()
        chain.append(session, actor, "share_profile.draft_created", OBJECT_TYPE, audit_id(rev), reason=reason,
                     after={**rev.summary(), "title": rev.title})
        return rev
    if rev.sha256 == profile.sha256:
        return rev
    before = {"sha256": rev.sha256, "title": rev.title}
    rev.content, rev.sha256, rev.title, rev.reason = content, profile.sha256, profile.title, reason
    session.flush()
    chain.append(session, actor, "share_profile.draft_edited", OBJECT_TYPE, audit_id(rev), reason=reason,
                 before=before, after={"sha256": rev.sha256, "title": rev.title})
    return rev


def text_diff(session: Session, rev: ShareProfileRevision) -> list[str]:
    """The unified diff of ``rev``'s text against the released revision (all added for a new profile)."""
    released = find_released(session, rev.name)
    old = released.content if released is not None and released.id != rev.id else ""
    label = f"rev {released.revision}" if released is not None and released.id != rev.id else "(none)"
    return list(difflib.unified_diff(old.splitlines(), rev.content.splitlines(), fromfile=label,
                                     tofile=f"rev {rev.revision}", lineterm=""))


def table_changes(session: Session, rev: ShareProfileRevision) -> list[str]:
    """What ``rev`` changes in what recipients see, table by table, against the released revision."""
    new = parse_profile(rev.name, rev.content.encode("utf-8"))
    released = find_released(session, rev.name)
    if released is None:
        return [f"new profile: {len(new.tables)} table(s), selected by {', '.join(new.selectors)}"]
    old = parse_profile(released.name, released.content.encode("utf-8"))
    out = []
    for table in sorted(set(old.tables) | set(new.tables)):
        before, after = set(old.tables.get(table, ())), set(new.tables.get(table, ()))
        if table not in old.tables:
            out.append(f"table {table} added ({', '.join(new.tables[table])})")
        elif table not in new.tables:
            out.append(f"table {table} removed")
        elif before != after:
            added, removed = sorted(after - before), sorted(before - after)
            out.append(f"table {table}: " + "; ".join(
                part for part in (f"adds {', '.join(added)}" if added else "",
                                  f"drops {', '.join(removed)}" if removed else "") if part))
    for key in ("selectors", "root", "title"):
        if getattr(old, key) != getattr(new, key):
            out.append(f"{key} {getattr(old, key)!r} → {getattr(new, key)!r}")
    return out or ["no difference in tables, columns or selectors (comments only)"]


def bound_tokens(session: Session, name: str) -> list[ApiToken]:
    """The API tokens bound to profile ``name`` that are not revoked (they read every new release)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.share_profile == name,
                                                       ApiToken.revoked_at.is_(None)).order_by(ApiToken.public_id)))

