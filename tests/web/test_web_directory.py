"""Sign-in with the company directory, against a real slapd started by the test.

A person from the directory signs in with the directory password, is provisioned with no roles
until their group is mapped, gets the mapped role, and signs a task with the directory password
(re-authentication by an LDAP bind) and their authenticator code; the signature shows the
directory's printed name. Removed from the directory, they are refused at sign-in and signing.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from audit import SYSTEM
from audit.enrollment import begin_enrollment, confirm_enrollment
from audit.models import AuditEntry, Signature
from audit.policy import SigningPolicy
from engine.users import get_user_by_name
from engine.users.directory import DIRECTORY_HASH, LdapDirectory, map_group, password_verifier
from engine.workflows.models import WorkflowTask
from tests.engine.mailservers import free_port
from tests.engine.slapd import BASE, Slapd, slapd_binary
from tests.web.conftest import Persona, csrf_token, deploy_test_process, open_task_id, start_change
from web.app import create_app

pytestmark = pytest.mark.skipif(slapd_binary() is None, reason="slapd is not installed (Debian: apt-get install "
                                                                "slapd ldap-utils; .ci/run installs it)")
LENA_PASSWORD = "Directory-pw-2026"


@pytest.fixture()
def directory(tmp_path):
    server = Slapd(tmp_path)
    server.add_person("lena.wang", LENA_PASSWORD, "王丽娜 Lena Wang", "lena.wang@plant.example")
    server.add_person("tom.li", "Tom-pw-2026", "李涛 Tom Li", "tom.li@plant.example")
    server.add_group("qa-managers", ["lena.wang"])
    server.add_group("everyone", ["lena.wang", "tom.li"])
    yield server
    server.stop()


@pytest.fixture()
def ldap_app(fresh_db, directory):
    settings = fresh_db.settings(ldap_url=directory.url, ldap_user_dn=f"uid={{username}},ou=people,{BASE}",
                                 ldap_base_dn=BASE)
    app = create_app({"TESTING": True, "SESSION_COOKIE_SECURE": False}, settings=settings)
    yield app
    app.extensions["sealtrail.engine"].dispose()


def post_login(client, username, password):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(client)})


def enroll(db, app, username: str, password: str) -> Persona:
    """Confirm an authenticator for the directory user (the password check is an LDAP bind)."""
    settings = app.extensions["sealtrail.settings"]
    policy = SigningPolicy.from_settings(settings, password_verifier=password_verifier(
        LdapDirectory.from_settings(settings)))
    with db.sessions.begin() as s:
        user = get_user_by_name(s, username)
        persona = Persona(user.id, username, user.printed_name, tuple(user.roles), password=password)
        enrollment = begin_enrollment(s, user, policy=policy)
        persona.secret = enrollment.secret
        confirm_enrollment(s, user, enrollment.credential_id, password=password, code=persona.code(), policy=policy)
    return persona


def test_first_sign_in_provisions_the_account_without_roles_until_its_group_is_mapped(fresh_db, ldap_app):
    client = ldap_app.test_client()
    assert post_login(client, "tom.li", "wrong").status_code != 302
    assert post_login(client, "tom.li", "Tom-pw-2026").status_code == 302
    with fresh_db.sessions() as s:
        tom = get_user_by_name(s, "tom.li")
        assert (tom.printed_name, tom.email, tom.roles, tom.password_hash) == (
            "李涛 Tom Li", "tom.li@plant.example", frozenset(), DIRECTORY_HASH)
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
        assert actions[-3:] == ["auth.login_failed", "user.provisioned", "auth.login"]


def test_directory_user_gets_the_mapped_role_and_signs_a_task_with_ldap_password_and_totp(
        fresh_db, ldap_app, directory, personas):
    with fresh_db.sessions.begin() as s:
        map_group(s, SYSTEM, directory.group_dn("qa-managers").upper(), "qa_manager")
    deploy_test_process(fresh_db)
    pe = personas("pe")
    task_id = open_task_id(fresh_db, start_change(fresh_db, pe))
    client = ldap_app.test_client()
    assert post_login(client, "lena.wang", LENA_PASSWORD).status_code == 302
    lena = enroll(fresh_db, ldap_app, "lena.wang", LENA_PASSWORD)
    assert lena.roles == ("qa_manager",)
    page = client.get(f"/tasks/{task_id}")
    assert page.status_code == 200 and 'name="password"' in page.get_data(as_text=True)  # first signature
    token = csrf_token(client, f"/tasks/{task_id}")
    form = {"qa_decision": "approve", "qa_comment": "ok", "csrf_token": token}
    wrong = client.post(f"/tasks/{task_id}", data=form | {"password": "not-the-directory-pw", "totp_code": lena.code()})
    assert wrong.status_code == 422
    done = client.post(f"/tasks/{task_id}", data=form | {"password": LENA_PASSWORD, "totp_code": lena.code()})
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    with fresh_db.sessions() as s:
        assert s.get(WorkflowTask, task_id).state == "completed"
        sig = s.scalars(select(Signature).where(Signature.record_id == task_id)).one()
        assert (sig.printed_name, sig.components) == ("王丽娜 Lena Wang", "password+totp")


def test_a_person_removed_from_the_directory_is_refused_at_sign_in_and_signing(
        fresh_db, ldap_app, directory, personas):
    with fresh_db.sessions.begin() as s:
        map_group(s, SYSTEM, directory.group_dn("qa-managers"), "qa_manager")
    deploy_test_process(fresh_db)
    task_id = open_task_id(fresh_db, start_change(fresh_db, personas("pe")))
    client = ldap_app.test_client()
    assert post_login(client, "lena.wang", LENA_PASSWORD).status_code == 302
    lena = enroll(fresh_db, ldap_app, "lena.wang", LENA_PASSWORD)
    directory.remove("lena.wang")
    token = csrf_token(client, f"/tasks/{task_id}")
    refused = client.post(f"/tasks/{task_id}", data={"qa_decision": "approve", "qa_comment": "ok", "csrf_token": token,
                                                     "password": LENA_PASSWORD, "totp_code": lena.code()})
    assert refused.status_code == 422
    assert post_login(ldap_app.test_client(), "lena.wang", LENA_PASSWORD).status_code != 302
    with fresh_db.sessions() as s:
        assert s.get(WorkflowTask, task_id).state == "ready"
        kinds = [e.payload_value.get("kind") for e in s.scalars(select(AuditEntry).where(
            AuditEntry.action.in_(("signature.refused", "auth.login_failed"))).order_by(AuditEntry.seq))]
        assert kinds[-2:] == ["wrong_password", "directory_refused"]


def test_local_accounts_keep_their_local_password_when_a_directory_is_configured(fresh_db, ldap_app, personas):
    qa = personas("qa")
    client = ldap_app.test_client()
    assert post_login(client, qa.username, qa.password).status_code == 302


def test_an_unreachable_directory_refuses_sign_in_cleanly_and_counts_nothing(fresh_db, directory):
    settings = fresh_db.settings(ldap_url=f"ldap://127.0.0.1:{free_port()}",
                                 ldap_user_dn=f"uid={{username}},ou=people,{BASE}", ldap_base_dn=BASE)
    app = create_app({"TESTING": True, "SESSION_COOKIE_SECURE": False}, settings=settings)
    try:
        response = post_login(app.test_client(), "lena.wang", LENA_PASSWORD)
        assert response.status_code == 401  # the sign-in page again, not an error page
        with fresh_db.sessions() as s:
            last = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
            assert (last.action, last.payload_value["kind"]) == ("auth.login_refused", "directory_unavailable")
    finally:
        app.extensions["sealtrail.engine"].dispose()
