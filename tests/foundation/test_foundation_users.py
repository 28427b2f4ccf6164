"""Users: names never reused, roles checked, passwords hashed with argon2id, changes audited."""
import pytest
from sqlalchemy import select

from audit import SYSTEM
from audit.models import AuditEntry
from audit.passwords import verify_password
from engine.errors import Conflict, ValidationFailed
from engine.users import accounts, actor_for, has_role


def _make(session, username="chen.jing", **kw):
    values = dict(username=username, printed_name="陈静 / Chen Jing", password="Correct-horse-9", roles=["qa_engineer"])
    values.update(kw)
    return accounts.create_user(session, SYSTEM, **values)


@pytest.mark.requirement("21CFR11.100", "Annex11-12")
def test_create_user_hashes_password_and_audits_without_secret(session):
    user = _make(session)
    assert user.password_hash.startswith("$argon2id$") and verify_password(user.password_hash, "Correct-horse-9")
    assert user.roles == {"qa_engineer"} and user.must_change_password
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.create")).one()
    assert "argon2" not in (entry.after or "") and "Correct-horse" not in (entry.after or "")
    actor = actor_for(user)
    assert actor.kind == "user" and actor.id == str(user.id) and actor.name == "陈静 / Chen Jing"
    assert accounts.user_for_actor(session, actor) is user


@pytest.mark.requirement("21CFR11.100", "Annex11-12")
@pytest.mark.parametrize("field, kw", [
    ("username", dict(username="Bad Name!")),
    ("roles", dict(roles=["superuser"])),
    ("password", dict(password="short")),
    ("printed_name", dict(printed_name="  ")),
    ("locale", dict(locale="fr")),
    ("timezone", dict(timezone="Mars/Olympus")),
])
def test_bad_input_is_refused_naming_the_field(session, field, kw):
    with pytest.raises(ValidationFailed) as err:
        _make(session, **kw)
    assert err.value.field == field


@pytest.mark.requirement("21CFR11.100", "Annex11-12")
def test_disabled_name_is_never_reused(session):
    user = _make(session)
    accounts.disable_user(session, SYSTEM, user, reason="left the company")
    assert not user.active and not has_role(user, "qa_engineer")
    with pytest.raises(Conflict, match="never reused"):
        _make(session, username="CHEN.JING")
    accounts.enable_user(session, SYSTEM, user, reason="returned")
    assert has_role(user, "qa_engineer", "qa_manager") and not has_role(user, "admin")


@pytest.mark.requirement("21CFR11.100", "Annex11-12")
def test_reset_and_change_password(session):
    user = _make(session, must_change_password=False)
    accounts.reset_password(session, SYSTEM, user, new_password="Temporary-123", reason="forgotten")
    assert user.must_change_password and verify_password(user.password_hash, "Temporary-123")
    with pytest.raises(ValidationFailed) as err:
        accounts.change_password(session, user, current_password="wrong", new_password="Brand-new-pass-1")
    assert err.value.field == "current_password"
    accounts.change_password(session, user, current_password="Temporary-123", new_password="Brand-new-pass-1")
    assert not user.must_change_password


@pytest.mark.requirement("21CFR11.100", "Annex11-12")
def test_set_roles_audits_old_and_new(session):
    user = _make(session)
    accounts.set_roles(session, SYSTEM, user, ["qa_engineer", "auditor"], reason="audit duty")
    assert user.roles == {"qa_engineer", "auditor"}
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.set_roles")).one()
    assert entry.reason == "audit duty" and "auditor" in entry.after and "qa_engineer" in entry.before
