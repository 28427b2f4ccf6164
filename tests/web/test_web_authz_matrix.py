"""Authorization, role × endpoint, generated from the route table (issue #20, item 4).

Every route must declare a rule (web.authz); the matrix asks each route as each role (and as a
visitor) and expects exactly what engine.access.rules (plus, for API writes, the token scope the
role's browser session carries) says. A new route without a rule fails here, and is refused.
"""
from __future__ import annotations

import re

import pytest
from werkzeug.routing import Rule as UrlRule

from engine.access.rules import allows, get_rule
from engine.users.models import ROLES
from web import authz
from web.api.auth import ROLE_SCOPES
from tests.web.conftest import PASSWORD, Persona, csrf_token, deploy_test_process, make_app, sign_in, start_change

MISSING = {"int": "987654", "default": "no-such-thing", "path": "no/such/thing"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _make_user(db, role: str) -> Persona:
    """A signed-up user holding just ``role``, with an authenticator (so no onboarding detour)."""
    from audit import SYSTEM
    from audit.enrollment import begin_enrollment, confirm_enrollment
    from audit.policy import SigningPolicy
    from engine.users import create_user

    policy = SigningPolicy.from_settings(db.settings())
    with db.sessions.begin() as s:
        user = create_user(s, SYSTEM, username=f"matrix.{role}", printed_name=f"Matrix {role}", password=PASSWORD,
                           roles=(role,), locale="en", timezone="UTC", must_change_password=False)
        persona = Persona(user.id, user.username, user.printed_name, (role,))
        enrollment = begin_enrollment(s, user, policy=policy)
        persona.secret = enrollment.secret
        confirm_enrollment(s, user, enrollment.credential_id, password=PASSWORD, code=persona.code(), policy=policy)
    return persona


def _url(rule: UrlRule) -> str:
    def fill(match):
        converter = match.group(1) or "default"
        if match.group(2) == "filename":
            return "no-such-file.css"
        return MISSING.get(converter, MISSING["default"])

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", fill, rule.rule)


def _routes(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every route; sign-out last (it ends the session)."""
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, _url(rule)))
    return sorted(out, key=lambda r: (r[0] == "auth.logout", r))


def _expected_allowed(app, endpoint: str, role: str | None) -> bool:
    name = authz.rule_for(app, endpoint)
    if role is None:
        return get_rule(name).public
    if not allows(name, {role}):
        return False
    if endpoint.startswith("api.") and not get_rule(name).public:
        needed = getattr(app.view_functions[endpoint], "required_scope", "read")
        return needed in ROLE_SCOPES.get(role, set())
    return True


@pytest.fixture()
def matrix_app(fresh_db):
    app = make_app(fresh_db, WTF_CSRF_ENABLED=False, LOGIN_RATE_LIMIT="1000 per minute")
    yield app
    app.extensions["sealtrail.engine"].dispose()


def test_every_route_declares_a_rule(app):
    assert authz.undeclared(app) == [], "declare a rule for these routes (docs/architecture.md, Authorization)"


def test_a_route_without_a_rule_is_refused(fresh_db):
    """Fail closed: a page or API route somebody forgot to declare answers 403, even to admin."""
    from flask_openapi3 import APIBlueprint

    app = make_app(fresh_db)
    app.add_url_rule("/forgotten", "forgotten", lambda: "secret")
    api = APIBlueprint("late_api", __name__, url_prefix="/api/v1/late")
    api.before_request(__import__("web.api.auth", fromlist=["guard"]).guard)
    api.get("/thing")(lambda: "secret")
    app.register_api(api)
    assert set(authz.undeclared(app)) == {"forgotten", "late_api.<lambda>"}
    client = app.test_client()
    admin = _make_user(fresh_db, "admin")
    assert sign_in(client, admin).status_code == 302
    assert client.get("/forgotten").status_code == 403
    assert client.get("/api/v1/late/thing").status_code == 403
    app.extensions["sealtrail.engine"].dispose()


@pytest.mark.parametrize("role", [None, *ROLES])
def test_role_endpoint_matrix(matrix_app, fresh_db, role):
    """Each role (None: a visitor) against every route of the route table."""
    client = matrix_app.test_client()
    if role is not None:
        assert sign_in(client, _make_user(fresh_db, role)).status_code == 302
    headers = {"X-CSRFToken": csrf_token(client, "/account/password")} if role else {}
    wrong = []
    for endpoint, method, url in _routes(matrix_app):
        body = {"json": {}} if url.startswith("/api/") and method in UNSAFE else {"data": {}}
        response = client.open(url, method=method, headers=headers, **body)
        # The sign-in guard sends visitors to /login?next=…; signing out goes to /login.
        status, to_login = response.status_code, "/login?next=" in (response.location or "")
        allowed = _expected_allowed(matrix_app, endpoint, role)
        if allowed:
            ok = status not in (401, 403) and not to_login
        elif role is None:
            ok = status == 401 if url.startswith("/api/") else (status == 302 and to_login)
        else:
            ok = status == 403
        if not ok:
            wrong.append(f"{role or 'visitor'} {method} {url} ({endpoint}, rule {authz.rule_for(matrix_app, endpoint)}):"
                         f" {status}, expected {'allowed' if allowed else 'refused'}")
    assert not wrong, "\n".join(wrong)


@pytest.fixture()
def operator_view(fresh_db, personas, client, login):
    """An operator signed in while a QA approval (lane qa_manager) waits in a change the PE started."""
    deploy_test_process(fresh_db)
    instance_id = start_change(fresh_db, personas("pe"))
    login(personas("op"))
    return client, instance_id


def test_operator_session_gets_403_from_the_audit_api(operator_view):
    client, _ = operator_view
    response = client.get("/api/v1/audit/entries?limit=1000")
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert client.get("/api/v1/audit/verify").status_code == 403
    assert client.get("/audit/").status_code == 403


def test_operator_session_sees_through_the_api_what_the_pages_show(operator_view):
    client, instance_id = operator_view
    assert client.get(f"/processes/{instance_id}").status_code == 403
    assert client.get(f"/api/v1/instances/{instance_id}").status_code == 403
    assert client.get("/api/v1/instances").get_json()["instances"] == []
    assert client.get("/api/v1/tasks").get_json()["tasks"] == []
    task_ids = [t["task_id"] for t in client.get(f"/api/v1/tasks?instance_id={instance_id}").get_json()["tasks"]]
    assert task_ids == []


def test_qa_session_sees_its_lane_through_the_api(fresh_db, personas, client, login):
    deploy_test_process(fresh_db)
    instance_id = start_change(fresh_db, personas("pe"))
    login(personas("qa"))
    tasks = client.get("/api/v1/tasks").get_json()["tasks"]
    assert [t["instance_id"] for t in tasks] == [instance_id]
    assert client.get(f"/api/v1/tasks/{tasks[0]['task_id']}").status_code == 200
    assert client.get(f"/api/v1/instances/{instance_id}").status_code == 200
    assert client.get("/api/v1/audit/entries?limit=5").status_code == 200
