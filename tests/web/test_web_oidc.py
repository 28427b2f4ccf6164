"""Sign-in with an OpenID Connect provider, against a provider the test runs (tests/engine/oidc_provider.py:
Authlib's server components, real HTTP on loopback, its own RSA key).

A person signs in at the provider (authorization code + PKCE), is provisioned with no roles until
their group claim is mapped, gets the mapped role, and signs a task only after re-authenticating
at the provider with ``max_age=0`` plus their authenticator code; an ID token whose ``auth_time``
is older than the re-authentication request is refused, as are a wrong state or nonce and a person
the provider refuses.
"""
from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from audit import SYSTEM
from audit.enrollment import begin_enrollment, confirm_enrollment
from audit.models import AuditEntry, Signature
from audit.policy import SigningPolicy
from engine.users import get_user_by_name
from engine.users.accounts import find_user
from engine.users.directory import map_group, password_verifier
from engine.users.oidc import OIDC_HASH, OidcPerson, reauthentication_proof
from engine.workflows.models import WorkflowTask
from tests.engine.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from tests.web.conftest import Persona, csrf_token, deploy_test_process, open_task_id, start_change
from web.app import create_app

CALLBACK = "http://localhost/login/oidc/callback"


@pytest.fixture()
def provider(monkeypatch):
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain HTTP on loopback, in the test only
    server = Provider(CALLBACK)
    an_hour_ago = int(time.time()) - 3600
    server.add_person("lena.wang", "王丽娜 Lena Wang", "lena.wang@plant.example", ["QA-Managers", "everyone"],
                      signed_in_at=an_hour_ago)
    server.add_person("tom.li", "李涛 Tom Li", "tom.li@plant.example", ["everyone"], signed_in_at=an_hour_ago)
    yield server
    server.stop()


@pytest.fixture()
def oidc_app(fresh_db, provider):
    settings = fresh_db.settings(oidc_issuer=provider.issuer, oidc_client_id=CLIENT_ID,
                                 oidc_client_secret=CLIENT_SECRET)
    app = create_app({"TESTING": True, "SESSION_COOKIE_SECURE": False}, settings=settings)
    yield app
    app.extensions["sealtrail.engine"].dispose()


def through_provider(client, start: str, *, tamper_state: bool = False):
    """Follow the app to the provider (real HTTP) and the provider back to the app's callback."""
    to_provider = client.get(start)
    assert to_provider.status_code == 302, to_provider.get_data(as_text=True)[:500]
    answer = requests.get(to_provider.location, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:500]
    back = urlsplit(answer.headers["Location"])
    query = back.query
    if tamper_state:
        params = parse_qs(query)
        query = f"code={params['code'][0]}&state=forged-{params['state'][0]}"
    return client.get(f"{back.path}?{query}")


def last_entry(db, action_prefix: str = "auth."):
    with db.sessions() as s:
        return s.scalars(select(AuditEntry).where(AuditEntry.action.like(f"{action_prefix}%"))
                         .order_by(AuditEntry.seq.desc())).first()


def enroll(db, app, username: str) -> Persona:
    """Confirm an authenticator for the provider's user (with a re-authentication proof as password)."""
    settings = app.extensions["sealtrail.settings"]
    policy = SigningPolicy.from_settings(settings, password_verifier=password_verifier(None, settings.secret_key))
    with db.sessions.begin() as s:
        user = get_user_by_name(s, username)
        proof = reauthentication_proof(settings.secret_key, user.id, OidcPerson(
            f"iss#sub-{username}", username, user.printed_name, None, frozenset(), int(time.time())))
        persona = Persona(user.id, username, user.printed_name, tuple(user.roles))
        enrollment = begin_enrollment(s, user, policy=policy)
        persona.secret = enrollment.secret
        confirm_enrollment(s, user, enrollment.credential_id, password=proof, code=persona.code(), policy=policy)
    return persona


def test_first_sign_in_provisions_the_account_without_roles_until_its_group_is_mapped(fresh_db, oidc_app, provider):
    assert 'data-oidc-sign-in' in oidc_app.test_client().get("/login").get_data(as_text=True)
    provider.signed_in = "tom.li"
    client = oidc_app.test_client()
    response = through_provider(client, "/login/oidc")
    assert response.status_code == 302 and urlsplit(response.location).path == "/"
    sent = provider.requests[-1]
    assert (sent["code_challenge_method"], sent["response_type"]) == ("S256", "code") and sent["nonce"]
    with fresh_db.sessions() as s:
        tom = get_user_by_name(s, "tom.li")
        assert (tom.printed_name, tom.email, tom.roles, tom.password_hash) == (
            "李涛 Tom Li", "tom.li@plant.example", frozenset(), OIDC_HASH)
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
        assert actions[-2:] == ["user.provisioned", "auth.login"]


def test_provider_user_gets_the_mapped_role_and_signs_a_task_after_reauthenticating_with_max_age_0(
        fresh_db, oidc_app, provider, personas):
    with fresh_db.sessions.begin() as s:
        map_group(s, SYSTEM, "qa-managers", "qa_manager")
    deploy_test_process(fresh_db)
    task_id = open_task_id(fresh_db, start_change(fresh_db, personas("pe")))
    provider.signed_in = "lena.wang"
    client = oidc_app.test_client()
    assert through_provider(client, "/login/oidc").status_code == 302
    lena = enroll(fresh_db, oidc_app, "lena.wang")
    assert lena.roles == ("qa_manager",)
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "/account/reauthenticate" in page and 'name="password"' not in page  # no password to type
    form = {"qa_decision": "approve", "qa_comment": "ok", "csrf_token": csrf_token(client, f"/tasks/{task_id}")}
    cookie_only = client.post(f"/tasks/{task_id}", data=form | {"totp_code": lena.code()})
    assert cookie_only.status_code == 422  # the session cookie and a code are not enough

    requested_at = int(time.time())
    assert through_provider(client, f"/account/reauthenticate?next=/tasks/{task_id}").status_code == 302
    assert provider.requests[-1]["max_age"] == "0" and provider.requests[-1]["prompt"] == "login"
    entry = last_entry(fresh_db)
    assert entry.action == "auth.reauthenticated" and entry.payload_value["auth_time"] >= requested_at
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'type="hidden" name="password"' in page
    done = client.post(f"/tasks/{task_id}", data=form | {"password": _proof(page), "totp_code": lena.code()})
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    with fresh_db.sessions() as s:
        assert s.get(WorkflowTask, task_id).state == "completed"
        sig = s.scalars(select(Signature).where(Signature.record_id == task_id)).one()
        assert (sig.printed_name, sig.components) == ("王丽娜 Lena Wang", "password+totp")


def _proof(page: str) -> str:
    start = page.index('type="hidden" name="password" value="') + len('type="hidden" name="password" value="')
    return page[start:page.index('"', start)]


def test_an_id_token_with_an_old_auth_time_gives_no_reauthentication(fresh_db, oidc_app, provider, personas):
    deploy_test_process(fresh_db)
    provider.signed_in = "lena.wang"
    client = oidc_app.test_client()
    assert through_provider(client, "/login/oidc").status_code == 302
    enroll(fresh_db, oidc_app, "lena.wang")
    provider.honour_max_age = False  # the provider answers from its hour-old session
    assert through_provider(client, "/account/reauthenticate?next=/").status_code == 302
    entry = last_entry(fresh_db)
    assert (entry.action, entry.payload_value["kind"]) == ("auth.reauthentication_refused", "oidc_stale_authentication")
    with client.session_transaction() as browser:
        assert "oidc_reauth_proof" not in browser


def test_a_forged_state_or_a_wrong_nonce_is_refused(fresh_db, oidc_app, provider):
    provider.signed_in = "tom.li"
    client = oidc_app.test_client()
    assert through_provider(client, "/login/oidc", tamper_state=True).status_code == 401
    assert last_entry(fresh_db).payload_value["kind"] == "oidc_state_mismatch"
    provider.nonce_override = "a-nonce-from-another-request"
    assert through_provider(client, "/login/oidc").status_code == 401
    assert last_entry(fresh_db).payload_value["kind"] == "oidc_nonce_mismatch"
    with fresh_db.sessions() as s:
        assert find_user(s, "tom.li") is None


def test_a_person_the_provider_refuses_is_refused(fresh_db, oidc_app, provider):
    provider.people["tom.li"]["disabled"] = True
    provider.signed_in = "tom.li"
    assert through_provider(oidc_app.test_client(), "/login/oidc").status_code == 401
    assert last_entry(fresh_db).payload_value["kind"] == "oidc_provider_refused"
    provider.signed_in = "nobody"
    assert through_provider(oidc_app.test_client(), "/login/oidc").status_code == 401


def test_a_local_account_is_never_taken_over_by_the_provider(fresh_db, oidc_app, provider, personas):
    qa = personas("qa")
    provider.add_person(qa.username, "Impostor", "x@plant.example", ["qa-managers"], signed_in_at=int(time.time()))
    provider.signed_in = qa.username
    assert through_provider(oidc_app.test_client(), "/login/oidc").status_code == 401
    assert last_entry(fresh_db).payload_value["kind"] == "not_an_oidc_account"


def test_setting_up_the_authenticator_asks_for_a_fresh_sign_in_at_the_provider(fresh_db, oidc_app, provider):
    provider.signed_in = "tom.li"
    client = oidc_app.test_client()
    assert through_provider(client, "/login/oidc").status_code == 302
    first = client.get("/account/authenticator").get_data(as_text=True)
    assert "data-reauthenticate" in first and "data-secret" not in first  # no secret shown before re-authentication
    assert through_provider(client, "/account/reauthenticate?next=/account/authenticator").status_code == 302
    page = client.get("/account/authenticator").get_data(as_text=True)
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page).group(1)
    credential = re.search(r'name="credential_id" type="hidden" value="(\d+)"|'
                           r'id="credential_id" name="credential_id" type="hidden" value="(\d+)"', page)
    credential_id = next(g for g in credential.groups() if g)
    tom = Persona(0, "tom.li", "李涛 Tom Li", ())
    tom.secret = secret
    confirmed = client.post("/account/authenticator", data={
        "credential_id": credential_id, "password": _proof(page), "code": tom.code(), "acknowledge": "y",
        "csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)})
    assert confirmed.status_code == 302, confirmed.get_data(as_text=True)[:1500]
    home = client.get("/")
    assert "/account/authenticator" not in (home.location or "")  # enrolled: no more detour there


def test_a_reauthentication_proof_signs_only_for_its_person_and_only_briefly(fresh_db):
    from audit.policy import Signer
    from engine.config import ConfigError
    from engine.users.oidc import OidcProvider, proof_matches
    person = OidcPerson("iss#sub-1", "lena.wang", "Lena", None, frozenset(), int(time.time()))
    proof = reauthentication_proof("key-1", 7, person)
    lena = Signer("7", "lena.wang", "Lena", OIDC_HASH, True)
    tom = Signer("8", "tom.li", "Tom", OIDC_HASH, True)
    assert proof_matches("key-1", lena, proof)
    assert not proof_matches("key-1", tom, proof)  # another person's proof
    assert not proof_matches("key-2", lena, proof)  # minted by another installation
    assert not proof_matches("key-1", lena, proof[:-2] + "xx")  # tampered
    assert not proof_matches("key-1", lena, proof, max_age=-1)  # expired
    assert not password_verifier(None, None)(lena, proof)  # no provider configured: nothing signs
    with pytest.raises(ConfigError, match="https"):
        OidcProvider.from_settings(fresh_db.settings(oidc_issuer="http://sso.plant.example", oidc_client_id="x",
                                                     oidc_client_secret="y"))
    with pytest.raises(ConfigError, match="CLIENT_SECRET"):
        OidcProvider.from_settings(fresh_db.settings(oidc_issuer="https://sso.plant.example", oidc_client_id="x"))
