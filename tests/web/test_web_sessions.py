"""Server-side sessions (issue #20, item 5): a copied cookie dies with its session.

Sign-out ends the session; a password change ends the user's other sessions; a lockout, a role
change, a password reset and deactivation end them all; a user sees their sessions and ends the
others.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from audit import SYSTEM
from audit.models import AuditEntry
from tests.web.conftest import PASSWORD, csrf_token, sign_in

COOKIE = "sealtrail_session"


def _copy(client, app):
    """A second browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE, domain="localhost").value, domain="localhost")
    return thief


def _signed_in(client) -> bool:
    response = client.get("/inbox/")
    if response.status_code == 302:
        assert "/login?next=" in response.headers["Location"]
        return False
    assert response.status_code == 200
    return True


@pytest.mark.requirement("21CFR11.10(d)")
def test_a_cookie_copied_before_logout_is_refused_after_it(app, client, personas):
    op = personas("op")
    sign_in(client, op)
    copy = _copy(client, app)
    assert _signed_in(copy)
    token = csrf_token(copy, "/account/password")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account/password")})
    assert not _signed_in(copy)
    assert copy.get("/api/v1/tasks").status_code == 401
    response = copy.post("/inbox/some-task/claim", data={"csrf_token": token})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = copy.post("/api/v1/alarm-rules", json={}, headers={"X-CSRFToken": token})
    assert response.status_code == 401


@pytest.mark.requirement("21CFR11.10(d)")
def test_a_password_change_ends_the_other_sessions_only(app, client, fresh_db, personas):
    qa = personas("qa")
    other = app.test_client()
    sign_in(other, qa)
    sign_in(client, qa)
    response = client.post("/account/password", data={
        "current": PASSWORD, "new": "a-brand-new-passphrase-9", "confirm": "a-brand-new-passphrase-9",
        "csrf_token": csrf_token(client, "/account/password")})
    assert response.status_code == 302
    assert _signed_in(client)
    assert not _signed_in(other)
    with fresh_db.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "auth.sessions_ended")).one()
        assert entry.payload_value == {"reason": "password_changed", "sessions": 1, "kept_current": True}


@pytest.mark.requirement("21CFR11.10(d)")
@pytest.mark.parametrize("change", ["set_roles", "disable_user", "reset_password"])
def test_an_administrator_change_ends_every_session(client, fresh_db, personas, change):
    from engine import users

    qa = personas("qa")
    sign_in(client, qa)
    assert _signed_in(client)
    with fresh_db.sessions.begin() as s:
        user = users.get_user(s, qa.id)
        if change == "set_roles":
            users.set_roles(s, SYSTEM, user, ["qa_manager", "auditor"], reason="audit duty")
        elif change == "disable_user":
            users.disable_user(s, SYSTEM, user, reason="left")
        else:
            users.reset_password(s, SYSTEM, user, new_password="temporary-pass-42", reason="forgotten")
    assert not _signed_in(client)


@pytest.mark.requirement("21CFR11.10(d)")
def test_a_lockout_ends_the_sessions_of_the_account(app, client, personas):
    qa = personas("qa")
    sign_in(client, qa)
    guesser = app.test_client()
    for _ in range(5):
        assert sign_in(guesser, qa, password="wrong-password-1").status_code == 401
    assert not _signed_in(client)


@pytest.mark.requirement("21CFR11.10(d)")
def test_the_sessions_page_lists_them_and_ends_the_others(app, client, personas):
    pe = personas("pe")
    phone, laptop = app.test_client(), app.test_client()
    sign_in(phone, pe)
    sign_in(laptop, pe)
    sign_in(client, pe)
    page = client.get("/account/sessions/").get_data(as_text=True)
    assert page.count("End this session") == 2 and "This session" in page
    ids = [int(x) for x in __import__("re").findall(r"/account/sessions/(\d+)/end", page)]
    token = csrf_token(client, "/account/sessions/")
    assert client.post(f"/account/sessions/{ids[0]}/end", data={"csrf_token": token}).status_code == 302
    assert [_signed_in(phone), _signed_in(laptop)].count(False) == 1
    assert client.post("/account/sessions/end-others", data={"csrf_token": token}).status_code == 302
    assert not _signed_in(phone) and not _signed_in(laptop) and _signed_in(client)
    page = client.get("/account/sessions/").get_data(as_text=True)
    assert "End this session" not in page


@pytest.mark.requirement("21CFR11.10(d)")
def test_a_user_cannot_end_someone_elses_session(app, client, fresh_db, personas):
    from engine.users.models import UserSession

    qa, op = personas("qa"), personas("op")
    victim = app.test_client()
    sign_in(victim, qa)
    with fresh_db.sessions() as s:
        victim_id = s.scalars(select(UserSession.id).where(UserSession.user_id == qa.id)).one()
    sign_in(client, op)
    client.post(f"/account/sessions/{victim_id}/end", data={"csrf_token": csrf_token(client, "/account/sessions/")})
    assert _signed_in(victim)
