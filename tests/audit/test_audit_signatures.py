"""Part 11 signing: components per session, replay, lockout, enrollment, reset, revocation."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from audit.enrollment import (ACKNOWLEDGEMENT_TEXT, acknowledgement_record, begin_enrollment,
                              confirm_enrollment, issue_enrollment_reset, revoke_totp)
from audit.errors import (BadMeaning, EnrollmentError, NotEnrolled, PasswordRequired, ReplayedCode,
                          SessionExpired, SigningLocked, UserDisabled, WrongCode, WrongPassword)
from audit.lockout import open_alerts, unlock_signing
from audit.canonical import iso_utc
from audit.models import AuditEntry, SecurityAlert, Signature, SigningAccount, SigningSession, TotpCredential
from audit.signatures import (end_signing_session, needs_password, open_signing_session, record_digest, sign,
                              signature_matches, signatures_for)
from tests.audit.signing_helpers import PASSWORD, code_at, enroll
from web.db import signing_transaction


RECORD = {"change_request": "ECO-0042", "decision": "approve", "items": ["P-100 rev B"]}


def _sign(session, user, policy, code, **kw):
    args = dict(password=PASSWORD, totp_code=code, meaning="approved", record_type="change_request",
                record_id="42", record=RECORD, policy=policy) | kw
    return sign(session, user, **args)


@pytest.mark.requirement("21CFR11.200", "21CFR11.300")
def test_enrollment_shows_a_qr_once_and_stores_the_secret_encrypted(session, alice, policy, clock):
    enrollment = begin_enrollment(session, alice, policy=policy)
    assert "<svg" in enrollment.qr_svg and enrollment.secret in enrollment.provisioning_uri
    cred = session.get(TotpCredential, enrollment.credential_id)
    assert cred.status == "pending" and enrollment.secret not in cred.secret_encrypted
    entries = session.scalars(select(AuditEntry)).all()
    assert all(enrollment.secret not in (e.payload or "") for e in entries)
    with pytest.raises(NotEnrolled):
        _sign(session, alice, policy, code_at(enrollment.secret, clock))


@pytest.mark.requirement("21CFR11.100", "21CFR11.300")
@pytest.mark.requirement("21CFR11.10(j)")
def test_confirmation_needs_a_valid_first_code_and_signs_the_acknowledgement(session, alice, policy, clock):
    enrollment = begin_enrollment(session, alice, policy=policy)
    with pytest.raises(WrongCode) as err:
        confirm_enrollment(session, alice, enrollment.credential_id, password=PASSWORD,
                           code="000000" if code_at(enrollment.secret, clock) != "000000" else "111111",
                           policy=policy)
    assert err.value.failure.kind == "wrong_code" and err.value.failure.operation == "enrollment"
    with pytest.raises(WrongPassword):
        confirm_enrollment(session, alice, enrollment.credential_id, password="nope",
                           code=code_at(enrollment.secret, clock), policy=policy)
    ack = confirm_enrollment(session, alice, enrollment.credential_id, password=PASSWORD,
                             code=code_at(enrollment.secret, clock), policy=policy)
    assert session.get(TotpCredential, enrollment.credential_id).status == "active"
    assert ack.meaning == "acknowledged" and ack.components == "password+totp"
    assert ack.record_type == "esignature_acknowledgement" and ack.printed_name == "Alice Initiator"
    record = acknowledgement_record(ack, alice)
    assert record["statement"] == ACKNOWLEDGEMENT_TEXT and signature_matches(ack, record)
    with pytest.raises(EnrollmentError, match="already have an active"):
        begin_enrollment(session, alice, policy=policy)


@pytest.mark.requirement("21CFR11.50", "21CFR11.70", "21CFR11.200", "Annex11-14")
def test_signing_outside_a_session_needs_every_component(session, alice, policy, clock):
    secret = enroll(session, alice, policy, clock)
    with pytest.raises(PasswordRequired):
        _sign(session, alice, policy, code_at(secret, clock), password=None)
    with pytest.raises(WrongPassword) as err:
        _sign(session, alice, policy, code_at(secret, clock), password="Correct-Horse-43")
    assert err.value.failure.kind == "wrong_password" and err.value.failure.record_id == "42"
    with pytest.raises(WrongCode):
        _sign(session, alice, policy, code_at(secret, clock, offset_steps=3))
    sig = _sign(session, alice, policy, code_at(secret, clock), comment="impact analysis reviewed")
    assert sig.components == "password+totp" and sig.signing_session_id is None
    assert sig.record_sha256 == record_digest("change_request", "42", RECORD)
    assert signature_matches(sig, RECORD)
    assert not signature_matches(sig, RECORD | {"decision": "reject"})
    entry = session.get(AuditEntry, sig.audit_entry_id)
    assert entry.action == "signature.applied" and (entry.object_type, entry.object_id) == ("change_request", "42")
    assert entry.recorded_at == sig.signed_at and entry.reason == "impact analysis reviewed"
    assert entry.payload_value["record_sha256"] == sig.record_sha256
    assert entry.payload_value["meaning"] == "approved" and entry.payload_value["printed_name"] == "Alice Initiator"
    assert sig.manifestation().startswith("Alice Initiator — approved — 2026-11-26 ")
    assert signatures_for(session, "change_request", 42) == [sig]


@pytest.mark.requirement("21CFR11.70", "Annex11-14")
def test_signature_cannot_be_transferred_to_another_record(session, alice, policy, clock):
    secret = enroll(session, alice, policy, clock)
    sig = _sign(session, alice, policy, code_at(secret, clock))
    assert record_digest("change_request", "43", RECORD) != sig.record_sha256
    assert record_digest("deviation", "42", RECORD) != sig.record_sha256


@pytest.mark.requirement("21CFR11.200", "21CFR11.300")
def test_a_time_step_is_accepted_once_per_user(session, alice, policy, clock):
    secret = enroll(session, alice, policy, clock)
    code = code_at(secret, clock)
    _sign(session, alice, policy, code)
    with pytest.raises(ReplayedCode):
        _sign(session, alice, policy, code)
    fullwidth = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    with pytest.raises(ReplayedCode):  # keyed on the time-step, not the string
        _sign(session, alice, policy, fullwidth)
    with pytest.raises(ReplayedCode):  # an earlier step is refused after a later one
        _sign(session, alice, policy, code_at(secret, clock, offset_steps=-1))
    with pytest.raises(ReplayedCode):  # the same step seen as "previous" after 30 s
        clock.advance(30)
        _sign(session, alice, policy, code_at(secret, clock, offset_steps=-1))
    assert _sign(session, alice, policy, code_at(secret, clock)).components == "password+totp"


@pytest.mark.requirement("21CFR11.300")
def test_previous_and_next_step_are_accepted_for_drift(session, alice, policy, clock):
    secret = enroll(session, alice, policy, clock)
    clock.advance(60)
    assert _sign(session, alice, policy, code_at(secret, clock, offset_steps=-1)).totp_timecode \
        == int(clock.now.timestamp()) // 30 - 1
    assert _sign(session, alice, policy, code_at(secret, clock, offset_steps=1)).totp_timecode \
        == int(clock.now.timestamp()) // 30 + 1


@pytest.mark.requirement("21CFR11.200")
def test_continuous_session_first_signing_all_components_then_totp(session, alice, policy, clock):
    secret = enroll(session, alice, policy, clock)
    sid = open_signing_session(session, alice, policy=policy)
    with pytest.raises(PasswordRequired):
        _sign(session, alice, policy, code_at(secret, clock), password=None, signing_session_id=sid)
    first = _sign(session, alice, policy, code_at(secret, clock), signing_session_id=sid)
    clock.advance(30)
    second = _sign(session, alice, policy, code_at(secret, clock), password=None, signing_session_id=sid)
    assert (first.components, second.components) == ("password+totp", "totp")
    assert first.signing_session_id == second.signing_session_id == sid
    clock.advance(601)  # idle beyond the window
    with pytest.raises(SessionExpired):
        _sign(session, alice, policy, code_at(secret, clock), password=None, signing_session_id=sid)
    again = _sign(session, alice, policy, code_at(secret, clock), signing_session_id=sid)
    assert again.components == "password+totp"  # all components restart the window
    clock.advance(30)
    assert _sign(session, alice, policy, code_at(secret, clock), password=None,
                 signing_session_id=sid).components == "totp"
    end_signing_session(session, sid, policy=policy)
    clock.advance(30)
    with pytest.raises(SessionExpired):
        _sign(session, alice, policy, code_at(secret, clock), signing_session_id=sid)


@pytest.mark.requirement("21CFR11.100", "21CFR11.200")
def test_a_session_of_another_user_is_not_usable(session, alice, bob, policy, clock):
    secret = enroll(session, alice, policy, clock)
    sid = open_signing_session(session, bob, policy=policy)
    with pytest.raises(SessionExpired):
        _sign(session, alice, policy, code_at(secret, clock), signing_session_id=sid)


@pytest.mark.requirement("21CFR11.50", "21CFR11.100")
def test_disabled_user_and_bad_meaning_are_refused(session, alice, carol, policy, clock):
    secret = enroll(session, alice, policy, clock)
    with pytest.raises(UserDisabled):
        _sign(session, carol, policy, "123456")
    with pytest.raises(BadMeaning, match="unknown signature meaning"):
        _sign(session, alice, policy, code_at(secret, clock), meaning="liked")
    assert session.scalar(select(func.count()).select_from(Signature)) == 1  # the acknowledgement


@pytest.mark.requirement("21CFR11.200")
def test_errors_are_distinct_and_say_nothing_was_signed():
    kinds = [WrongPassword(), WrongCode(), ReplayedCode(), SigningLocked("x"), UserDisabled(), SessionExpired()]
    assert len({type(k) for k in kinds}) == len({k.code for k in kinds}) == 6
    assert all(str(k) for k in kinds)


@pytest.mark.requirement("21CFR11.300")
def test_lockout_after_five_failures_is_audited_and_alerts_security(fresh_db, alice, policy, clock, alerts):
    with fresh_db.sessions.begin() as s:
        secret = enroll(s, alice, policy, clock)
    wrong = "000000" if code_at(secret, clock) != "000000" else "111111"
    for attempt in range(1, 5):
        with pytest.raises(WrongCode):
            with signing_transaction(fresh_db.sessions, policy) as s:
                _sign(s, alice, policy, wrong)
    with pytest.raises(SigningLocked) as err:
        with signing_transaction(fresh_db.sessions, policy) as s:
            _sign(s, alice, policy, wrong)
    assert isinstance(err.value.__cause__, WrongCode)
    assert len(alerts) == 1 and alerts[0].kind == "signing_lockout"
    with fresh_db.sessions.begin() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
        assert actions.count("signature.refused") == 5 and actions[-1] == "signing.locked"
        assert [a.kind for a in open_alerts(s)] == ["signing_lockout"]
        assert s.scalar(select(func.count()).select_from(Signature)) == 1  # only the acknowledgement
    # locked: even the right code is refused, and the refusal is audited but not counted
    with pytest.raises(SigningLocked):
        with signing_transaction(fresh_db.sessions, policy) as s:
            _sign(s, alice, policy, code_at(secret, clock))
    clock.advance(901)
    with signing_transaction(fresh_db.sessions, policy) as s:
        assert _sign(s, alice, policy, code_at(secret, clock)).meaning == "approved"
    with fresh_db.sessions.begin() as s:
        assert s.get(SigningAccount, "101").failed_attempts == 0
        assert s.scalar(select(func.count()).select_from(SecurityAlert)) == 1


@pytest.mark.requirement("21CFR11.300")
def test_a_success_resets_the_consecutive_failure_count(fresh_db, alice, bob, policy, clock):
    with fresh_db.sessions.begin() as s:
        secret = enroll(s, alice, policy, clock)
    for _ in range(4):
        with pytest.raises(WrongPassword):
            with signing_transaction(fresh_db.sessions, policy) as s:
                _sign(s, alice, policy, code_at(secret, clock), password="bad-password")
    with signing_transaction(fresh_db.sessions, policy) as s:
        _sign(s, alice, policy, code_at(secret, clock))
    with fresh_db.sessions.begin() as s:
        assert s.get(SigningAccount, "101").failed_attempts == 0
        account = s.get(SigningAccount, "101")
        account.failed_attempts = 4
        account.locked_until = "2999-01-01T00:00:00.000000Z"
    with fresh_db.sessions.begin() as s:
        unlock_signing(s, bob.actor, "101", reason="user verified by phone call")
    clock.advance(30)
    with signing_transaction(fresh_db.sessions, policy) as s:
        _sign(s, alice, policy, code_at(secret, clock))


@pytest.mark.requirement("21CFR11.100", "21CFR11.300")
def test_reset_revokes_and_only_the_user_enrolls_again(session, alice, bob, policy, clock):
    secret = enroll(session, alice, policy, clock)
    with pytest.raises(EnrollmentError, match="own"):
        issue_enrollment_reset(session, alice.actor, alice, reason="lost phone", policy=policy)
    with pytest.raises(EnrollmentError, match="set this user's password"):
        issue_enrollment_reset(session, bob.actor, alice, reason="lost phone", policy=policy,
                               password_set_by="102")
    permit = issue_enrollment_reset(session, bob.actor, alice, reason="lost phone", policy=policy)
    assert permit.issued_by == "102" and permit.used_at is None
    with pytest.raises(NotEnrolled):
        _sign(session, alice, policy, code_at(secret, clock))
    new = begin_enrollment(session, alice, policy=policy)
    assert new.secret != secret
    confirm_enrollment(session, alice, new.credential_id, password=PASSWORD,
                       code=code_at(new.secret, clock), policy=policy)
    clock.advance(30)
    assert _sign(session, alice, policy, code_at(new.secret, clock)).user_id == "101"
    with pytest.raises(WrongCode):  # the old secret is dead
        clock.advance(30)
        _sign(session, alice, policy, code_at(secret, clock))
    actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
    assert "totp.revoked" in actions and "totp.reset_issued" in actions


@pytest.mark.requirement("21CFR11.300")
def test_revoked_authenticator_needs_an_admin_permit(session, alice, policy, clock):
    enroll(session, alice, policy, clock)
    revoked = revoke_totp(session, alice.actor, alice, reason="phone compromised")
    assert revoked.status == "revoked" and revoked.revoked_by == "101"
    with pytest.raises(EnrollmentError, match="administrator"):
        begin_enrollment(session, alice, policy=policy)


@pytest.mark.requirement("21CFR11.300")
def test_expired_permit_and_pending_enrollment_are_refused(session, alice, bob, policy, clock):
    enroll(session, alice, policy, clock)
    issue_enrollment_reset(session, bob.actor, alice, reason="lost phone", policy=policy)
    clock.advance(policy.enrollment_ttl_seconds + 1)
    with pytest.raises(EnrollmentError):
        begin_enrollment(session, alice, policy=policy)
    issue_enrollment_reset(session, bob.actor, alice, reason="lost phone again", policy=policy)
    pending = begin_enrollment(session, alice, policy=policy)
    clock.advance(policy.pending_ttl_seconds + 1)
    with pytest.raises(EnrollmentError, match="expired"):
        confirm_enrollment(session, alice, pending.credential_id, password=PASSWORD,
                           code=code_at(pending.secret, clock), policy=policy)


@pytest.mark.requirement("21CFR11.50", "21CFR11.70", "Annex11-14")
def test_signature_audit_payload_is_complete_json(session, alice, policy, clock):
    secret = enroll(session, alice, policy, clock)
    sig = _sign(session, alice, policy, code_at(secret, clock))
    payload = json.loads(session.get(AuditEntry, sig.audit_entry_id).payload)
    assert set(payload) == {"signature_id", "username", "printed_name", "meaning", "meaning_text",
                            "record_sha256", "components", "signing_session_id", "totp_timecode"}


@pytest.mark.requirement("21CFR11.200", "21CFR11.300")
def test_concurrent_use_of_one_code_signs_exactly_once(fresh_db, alice, policy, clock):
    import threading
    with fresh_db.sessions.begin() as s:
        secret = enroll(s, alice, policy, clock)
    code, results, barrier = code_at(secret, clock), [], threading.Barrier(4)

    def attempt(n):
        barrier.wait()
        try:
            with signing_transaction(fresh_db.sessions, policy) as s:
                _sign(s, alice, policy, code, record_id=str(n))
            results.append("signed")
        except ReplayedCode:
            results.append("replayed")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["replayed"] * 3 + ["signed"]
    with fresh_db.sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Signature)) == 2  # + acknowledgement


def test_needs_password_is_the_one_rule_of_a_continuous_session(policy, clock):
    """§11.200(a)(1): password + code on the first signing of a session, code alone after it,
    the password again once the session ended or lay idle longer than the policy allows."""
    started = SigningSession(id="s1", user_id="101", started_at=iso_utc(clock()))
    assert needs_password(None, policy) and needs_password(started, policy)
    started.first_signed_at = started.last_signed_at = iso_utc(clock())
    assert not needs_password(started, policy)
    clock.advance(policy.idle_seconds + 1)
    assert needs_password(started, policy)
    started.last_signed_at = iso_utc(clock())
    assert not needs_password(started, policy)
    started.ended_at = iso_utc(clock())
    assert needs_password(started, policy)
