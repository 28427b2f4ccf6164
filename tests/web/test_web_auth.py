"""Sign-in, lockout, first-login password change, TOTP enrolment, sign-out, idle timeout."""
from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from audit.models import AuditEntry, TotpCredential
from tests.web.conftest import PASSWORD, csrf_token, make_app, sign_in


def actions(db, object_id=None):
    with db.sessions() as s:
        query = select(AuditEntry.action).order_by(AuditEntry.seq)
        if object_id:
            query = query.where(AuditEntry.object_id == object_id)
        return list(s.scalars(query))


@pytest.mark.requirement("21CFR11.10(d)")
def test_sign_in_and_out_are_audited(client, fresh_db, personas):
    qa = personas("qa")
    response = sign_in(client, qa)
    assert response.status_code == 302
    assert client.get("/account/password").status_code == 200  # signed in
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/account/password")})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert client.get("/account/password").status_code == 302  # signed out
    trail = actions(fresh_db, str(qa.id))
    assert "auth.login" in trail and trail[-1] == "auth.logout"


@pytest.mark.requirement("21CFR11.10(d)")
def test_wrong_password_and_unknown_user_get_the_same_answer(client, fresh_db, personas):
    qa = personas("qa")
    wrong = sign_in(client, qa, password="not-the-password")
    unknown = client.post("/login", data={"username": "nobody", "password": "x" * 12,
                                          "csrf_token": csrf_token(client)})
    assert wrong.status_code == unknown.status_code == 401
    message = "The user name or password is not correct."
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)
    assert "auth.login_failed" in actions(fresh_db, str(qa.id))
    assert "auth.login_failed" in actions(fresh_db, "nobody")


@pytest.mark.requirement("21CFR11.10(d)")
def test_lockout_after_repeated_failures_even_with_the_right_password(client, fresh_db, personas):
    qa = personas("qa")
    for _ in range(5):
        sign_in(client, qa, password="wrong-password-1")
    response = sign_in(client, qa)  # right password, but locked
    assert response.status_code == 401
    assert "locked until" in response.get_data(as_text=True)
    trail = actions(fresh_db, str(qa.id))
    assert "auth.locked" in trail and trail[-1] == "auth.login_refused"


@pytest.mark.requirement("21CFR11.10(d)")
def test_login_is_rate_limited_per_address(fresh_db, personas):
    app = make_app(fresh_db, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    qa = personas("qa")
    codes = [sign_in(client, qa, password="wrong-password-1").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    app.extensions["sealtrail.engine"].dispose()


@pytest.mark.requirement("21CFR11.10(d)")
def test_sign_in_never_redirects_off_site(client, personas):
    qa = personas("qa")
    token = csrf_token(client, "/login?next=https://evil.example/")
    response = client.post("/login", data={"username": qa.username, "password": PASSWORD,
                                           "next": "https://evil.example/", "csrf_token": token})
    assert response.status_code == 302 and "evil" not in response.headers["Location"]


@pytest.mark.requirement("21CFR11.10(d)")
def test_sign_in_starts_a_fresh_session(client, personas):
    qa = personas("qa")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    sign_in(client, qa)
    with client.session_transaction() as sess:
        assert "planted" not in sess and sess.get("signing_session_id")


@pytest.mark.requirement("21CFR11.10(d)")
def test_login_form_without_csrf_is_refused(client, personas):
    qa = personas("qa")
    response = client.post("/login", data={"username": qa.username, "password": PASSWORD})
    assert response.status_code == 400


@pytest.mark.requirement("21CFR11.10(d)")
def test_first_login_forces_a_password_change(client, fresh_db, personas):
    op = personas("op", must_change_password=True)
    sign_in(client, op)
    response = client.get("/audit/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/password")
    token = csrf_token(client, "/account/password")
    weak = client.post("/account/password", data={"current": PASSWORD, "new": "short", "confirm": "short",
                                                  "csrf_token": token})
    assert weak.status_code == 422 and "too weak" in weak.get_data(as_text=True)
    response = client.post("/account/password", data={"current": PASSWORD, "new": "a-new-long-password-9",
                                                      "confirm": "a-new-long-password-9", "csrf_token": token})
    assert response.status_code == 302
    assert "user.change_password" in actions(fresh_db, str(op.id))
    assert client.get("/account/password").status_code == 200


@pytest.mark.requirement("21CFR11.10(d)")
def test_totp_enrolment_with_qr_and_code(client, fresh_db, personas):
    pe = personas("pe", enrolled=False)
    sign_in(client, pe)
    response = client.get("/audit/")
    assert response.headers["Location"].endswith("/account/authenticator")
    html = client.get("/account/authenticator").get_data(as_text=True)
    assert "<svg" in html
    secret = re.search(r'data-secret="([A-Z2-7]+)"', html).group(1)
    credential_id = re.search(r'name="credential_id" type="hidden" value="(\d+)"', html).group(1)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    wrong = client.post("/account/authenticator", data={"credential_id": credential_id, "password": PASSWORD,
                                                        "code": "000000", "acknowledge": "y", "csrf_token": token})
    assert wrong.status_code == 422 and "not correct" in wrong.get_data(as_text=True)
    assert secret not in wrong.get_data(as_text=True)  # the secret is shown once only
    response = client.post("/account/authenticator", data={
        "credential_id": credential_id, "password": PASSWORD, "code": pyotp.TOTP(secret).now(),
        "acknowledge": "y", "csrf_token": token})
    assert response.status_code == 302
    with fresh_db.sessions() as s:
        assert s.scalars(select(TotpCredential.status).where(TotpCredential.user_id == str(pe.id))).all() \
            .count("active") == 1
    trail = actions(fresh_db)
    assert "totp.enrolled" in trail and "signature.applied" in trail


@pytest.mark.requirement("21CFR11.10(d)")
def test_idle_session_is_signed_out(client, fresh_db, personas):
    qa = personas("qa")
    sign_in(client, qa)
    with client.session_transaction() as sess:
        sess["last_seen"] = int(time.time()) - 10_000
    response = client.get("/account/password")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert client.get("/account/password").status_code == 302
    assert actions(fresh_db, str(qa.id))[-1] == "auth.logout"


@pytest.mark.requirement("21CFR11.10(d)")
def test_disabled_user_is_signed_out_at_once(client, fresh_db, personas):
    from audit import SYSTEM
    from engine.users import disable_user, get_user

    qa = personas("qa")
    sign_in(client, qa)
    with fresh_db.sessions.begin() as s:
        disable_user(s, SYSTEM, get_user(s, qa.id), reason="left the company")
    assert client.get("/account/password").status_code == 302
    assert sign_in(client, qa).status_code == 401


@pytest.mark.requirement("21CFR11.10(d)")
@pytest.mark.parametrize("path", ["/audit/", "/audit/signatures", "/account/password"])
def test_pages_need_a_signed_in_user(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


@pytest.mark.requirement("21CFR11.10(d)")
def test_language_follows_the_profile_after_sign_in(client, fresh_db, personas):
    qa = personas("qa")
    sign_in(client, qa)
    token = csrf_token(client, "/account/password")
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/account/password"})
    html = client.get("/account/password", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "修改您的密码" in html
    assert "user.set_locale" in actions(fresh_db, str(qa.id))


@pytest.mark.requirement("21CFR11.10(d)")
def test_start_page_after_sign_in_leads_somewhere_useful(client, personas, login):
    login(personas("auditor"))
    response = client.get("/")
    assert response.status_code == 302
    assert client.get(response.headers["Location"]).status_code == 200
