"""Sharing profiles released like master data (#18): a draft is checked, diffed, reviewed through
change control and released when the change is implemented; a package and a profile-bound token
always read the released revision and the package names it."""
from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pyrage import x25519
from sqlalchemy import select

from audit.errors import SignatureError
from audit.models import AuditEntry
from engine.access import tokens
from engine.errors import Conflict, NotFound, RevisionRuleViolation, ValidationFailed
from engine.governance import profile_release, profile_revisions
from engine.governance.models import ShareProfileRevision
from engine.governance.profile_revisions import released_profile, save_draft
from engine.governance.profiles import shipped_profiles
from engine.governance.sharing import create_share
from engine.processes.profile_changes import route_profile
from tests.processes.processes_plant import PASSWORD

NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.timezone.utc)


@pytest.fixture()
def profiled(quality):
    assert profile_revisions.install_shipped(quality.session, quality.actor("qm_chen")) == ["notified-body",
                                                                                            "supplier"]
    return quality


def _narrower() -> str:
    """The shipped notified-body profile without the release decisions' comment column."""
    text = shipped_profiles()["notified-body"].decode("utf-8")
    edited = text.replace(', "decision_comment"]', "]")
    assert edited != text
    return edited


def _propose(quality, who="pe_wang", name="notified-body", comment="notified bodies no longer get release comments"):
    quality.clock.now += timedelta(seconds=30)
    code = pyotp.TOTP(quality.secrets[who]).at(quality.clock.now)
    return route_profile(quality.session, quality.user(who), name, comment=comment, password=PASSWORD,
                         totp_code=code, policy=quality.policy)


def _approve_and_implement(quality, iid):
    quality.complete(iid, "assess_change", "pe_xu", {
        "risk_level": "low", "risk_assessment": "fewer columns shared", "validation_required": False,
        "validation_plan": "", "regulatory_notification_required": False, "flag_override_justification": ""})
    quality.complete(iid, "approve_change_qa", "qm_chen", {"qa_decision": "approve", "qa_comment": ""})
    quality.complete(iid, "approve_change_production", "pm_liu", {"production_decision": "approve",
                                                                   "production_comment": ""})
    quality.complete(iid, "confirm_change_implementation", "pe_xu", {
        "effective_from": quality.clock.now.date().isoformat(), "training_completed": True,
        "implementation_notes": "profile released"})


def _package(quality, change_number: str):
    recipient = x25519.Identity.generate()
    return create_share(quality.session, quality.actor("qm_chen"), released_profile(quality.session, "notified-body"),
                        ("change", change_number), recipient_key=str(recipient.to_public()),
                        reason="annual surveillance audit", signing_key=Ed25519PrivateKey.generate(), now=NOW)


def test_shipped_profiles_are_installed_once_as_released_revision_one(profiled):
    s = profiled.session
    supplier = released_profile(s, "supplier")
    assert supplier.revision == 1 and supplier.sha256 == profile_revisions.find_released(s, "supplier").sha256
    assert profile_revisions.install_shipped(s, profiled.actor("qm_chen")) == []  # already installed
    installed = set(s.scalars(select(AuditEntry.object_id).where(AuditEntry.action == "share_profile.installed")))
    assert installed == {"supplier:1", "notified-body:1"}
    with pytest.raises(NotFound, match="no released sharing profile 'nobody'"):
        released_profile(s, "nobody")


@pytest.mark.requirement("ISO13485-7.3.9")
def test_a_profile_draft_is_released_only_by_its_implemented_change(profiled):
    s = profiled.session
    token = tokens.create_token(s, profiled.actor("qm_chen"), name="TÜV portal", scopes=[tokens.READ],
                                share_profile="notified-body", share_recipient="TÜV SÜD")
    draft = save_draft(s, profiled.actor("qm_chen"), "notified-body", _narrower(), reason="NB asked for less")
    assert (draft.revision, draft.status) == (2, "draft")
    diff = profile_revisions.text_diff(s, draft)
    assert any(line.startswith("-") and "decision_comment" in line for line in diff)
    assert profile_revisions.table_changes(s, draft) == ["table release_reviews: drops decision_comment"]

    change = _propose(profiled)
    s.refresh(draft)
    assert (draft.status, draft.change_ref) == ("in_review", change.number)
    impact = [row["change"] for row in change.impact["changes"]]
    assert "rev 1 → 2: table release_reviews: drops decision_comment" in impact
    assert any(token.token.public_id in line and "TÜV SÜD" in line for line in impact)  # bound tokens listed
    with pytest.raises(RevisionRuleViolation, match="in review"):
        save_draft(s, profiled.actor("qm_chen"), "notified-body", _narrower() + "\n# sneak\n", reason="x")

    # Not yet released: a package uses revision 1, with the column the draft drops.
    package = _package(profiled, change.number)
    assert package.manifest["profile_revision"] == 1
    assert "decision_comment" in released_profile(s, "notified-body").tables["release_reviews"]

    _approve_and_implement(profiled, change.process_instance_id)
    s.refresh(draft)
    assert draft.status == "released" and draft.released_by_name == profiled.user("pe_xu").printed_name
    old = s.scalar(select(ShareProfileRevision).where(ShareProfileRevision.name == "notified-body",
                                                      ShareProfileRevision.revision == 1))
    assert old.status == "superseded" and old.superseded_at is not None
    profile = released_profile(s, "notified-body")
    assert profile.revision == 2 and "decision_comment" not in profile.tables["release_reviews"]
    package = _package(profiled, change.number)
    assert (package.manifest["profile_revision"], package.manifest["profile_sha256"]) == (2, draft.sha256)
    entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "share.created")
                      .order_by(AuditEntry.id.desc())).first()
    assert entry.after_value["profile_revision"] == 2
    # The token bound to the profile keeps working: its binding names the profile, not a revision.
    assert tokens.authenticate(s, token.secret).share_profile == "notified-body"
    actions = set(s.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "share_profile_revision")))
    assert {"share_profile.draft_created", "share_profile.proposed", "share_profile.submitted",
            "share_profile.superseded", "share_profile.released"} <= actions


def test_a_released_revision_cannot_be_edited_or_released_again(profiled):
    s = profiled.session
    released = profile_revisions.find_released(s, "supplier")
    with pytest.raises(Conflict, match="not in review"):
        profile_release.release(s, profiled.actor("qm_chen"), released, "CC-0001", "again")
    # Editing the profile makes a new draft; revision 1 keeps its text and hash.
    before = (released.content, released.sha256)
    draft = save_draft(s, profiled.actor("qm_chen"), "supplier",
                       shipped_profiles()["supplier"].decode() + "\n# reviewed 2026\n", reason="annual review")
    assert draft.revision == 2 and draft.id != released.id
    s.refresh(released)
    assert (released.content, released.sha256, released.status) == (*before, "released")
    with pytest.raises(ValidationFailed, match="no draft"):
        profile_release.propose(s, profiled.actor("qm_chen"), 999_999, "notified-body", reason="x")


def test_a_tampered_released_row_is_refused(profiled):
    s = profiled.session
    row = profile_revisions.find_released(s, "supplier")
    row.content = row.content.replace('"certificate_ref", ', "")
    s.flush()
    with pytest.raises(Conflict, match="SHA-256"):
        released_profile(s, "supplier")


def test_draft_errors_name_the_key_and_write_nothing(profiled):
    s = profiled.session
    actor = profiled.actor("qm_chen")
    bad = _narrower().replace('selectors = ["change", "period"]', 'selectors = ["change"]\ncolour = "red"')
    with pytest.raises(ValidationFailed, match=r"unknown key\(s\) \['colour'\]") as caught:
        save_draft(s, actor, "notified-body", bad, reason="x")
    assert caught.value.field == "content"
    with pytest.raises(ValidationFailed, match="not valid TOML"):
        save_draft(s, actor, "notified-body", "name = ", reason="x")
    with pytest.raises(ValidationFailed, match="no table 'nope'"):
        save_draft(s, actor, "notified-body", _narrower() + '\n[tables.nope]\ncolumns = ["id"]\n', reason="x")
    with pytest.raises(ValidationFailed, match="why"):
        save_draft(s, actor, "notified-body", _narrower(), reason=" ")
    with pytest.raises(ValidationFailed) as caught:
        save_draft(s, actor, "Bad Name", _narrower(), reason="x")
    assert caught.value.field == "name"
    assert profile_revisions.open_revision(s, "notified-body") is None


def test_a_rejected_change_returns_the_profile_to_draft(profiled):
    s = profiled.session
    draft = save_draft(s, profiled.actor("qm_chen"), "notified-body", _narrower(), reason="NB asked for less")
    change = _propose(profiled)
    iid = change.process_instance_id
    profiled.complete(iid, "assess_change", "pe_xu", {
        "risk_level": "low", "risk_assessment": "x", "validation_required": False, "validation_plan": "",
        "regulatory_notification_required": False, "flag_override_justification": ""})
    profiled.complete(iid, "approve_change_qa", "qm_chen", {"qa_decision": "reject", "qa_comment": "keep comments"})
    profiled.complete(iid, "approve_change_production", "pm_liu", {"production_decision": "approve",
                                                                    "production_comment": ""})
    s.refresh(draft)
    assert draft.status == "draft" and released_profile(s, "notified-body").revision == 1
    edited = save_draft(s, profiled.actor("qm_chen"), "notified-body", _narrower() + "\n# v2\n", reason="rework")
    assert edited.id == draft.id  # the same draft is reworked


def test_submitting_a_profile_needs_the_proposers_signature(profiled):
    save_draft(profiled.session, profiled.actor("qm_chen"), "notified-body", _narrower(), reason="x")
    with pytest.raises(SignatureError):
        route_profile(profiled.session, profiled.user("pe_wang"), "notified-body", comment="x", password="wrong",
                      totp_code="000000", policy=profiled.policy)
