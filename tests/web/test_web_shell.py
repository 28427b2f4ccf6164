"""The app shell: start page, headers, CSRF, error pages, languages, vendored bpmn-js."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask import Blueprint, abort

from engine.errors import Conflict, NotFound, ValidationFailed
from web.login import public


@pytest.fixture(scope="module")
def app(shared_db):
    """These tests write nothing: one app on the shared database (a fresh one costs seconds on PG)."""
    from tests.web.conftest import make_app

    app = make_app(shared_db)
    yield app
    app.extensions["sealtrail.engine"].dispose()


def test_start_page_is_the_sign_in_form(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="username"' in html and 'name="password"' in html
    assert 'name="csrf_token"' in html


def test_security_headers_on_every_page(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self' 'nonce-" in csp
    assert "'unsafe-inline'" not in csp.split("style-src-attr")[0]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_csp_nonce_changes_per_request(client):
    a = client.get("/").headers["Content-Security-Policy"]
    b = client.get("/").headers["Content-Security-Policy"]
    assert a != b


def test_session_cookie_flags_by_default(shared_db):
    from web.app import create_app

    app = create_app({"TESTING": True}, settings=shared_db.settings())
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    client = app.test_client()
    response = client.post("/language", data={"locale": "zh_CN"},
                           base_url="https://localhost")  # no CSRF token
    assert response.status_code == 400
    client.get("/", base_url="https://localhost")
    cookie = client.get_cookie("sealtrail_session", domain="localhost")
    assert cookie is not None and cookie.secure and cookie.http_only
    assert client.get("/", base_url="https://localhost").headers["Strict-Transport-Security"]
    app.extensions["sealtrail.engine"].dispose()


def test_post_without_csrf_token_is_refused(client):
    response = client.post("/language", data={"locale": "zh_CN"})
    assert response.status_code == 400
    assert "The form has expired" in response.get_data(as_text=True)


def _csrf(client, path="/"):
    import re

    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', html)


def csrf_token(client, path="/") -> str:
    match = _csrf(client, path)
    return match.group(1) or match.group(2)


def test_language_from_browser_then_choice(client):
    html = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert "登录" in html and '<html lang="zh-CN">' in html
    html = client.get("/", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert "Sign in" in html
    token = csrf_token(client)
    response = client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    html = client.get("/", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert "登录" in html


def test_language_switch_refuses_foreign_redirects(client):
    token = csrf_token(client)
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = client.post("/language", data={"locale": "en", "csrf_token": token, "next": target})
        assert response.headers["Location"] == "/"


def _app_with_failures(db):
    from web.app import create_app

    app = create_app({"TESTING": False, "SESSION_COOKIE_SECURE": False, "PROPAGATE_EXCEPTIONS": False},
                     settings=db.settings())
    bp = Blueprint("boom", __name__)

    @bp.get("/boom")
    @public
    def boom():
        raise RuntimeError("secret internals: password=hunter2 at /srv/app.py")

    @bp.get("/missing")
    @public
    def missing():
        raise NotFound("lot L-42 of customer ACME not found")

    @bp.get("/conflict")
    @public
    def conflict():
        raise Conflict("task was completed by someone else")

    @bp.get("/invalid")
    @public
    def invalid():
        raise ValidationFailed("quantity must be positive", field="quantity")

    @bp.get("/forbidden")
    @public
    def forbidden():
        abort(403)

    @bp.get("/api/v1/boom")
    @public
    def api_missing():
        raise NotFound("lot L-42 not found")

    app.register_blueprint(bp)
    return app


def test_error_pages_leak_nothing(shared_db, caplog):
    app = _app_with_failures(shared_db)
    client = app.test_client()
    response = client.get("/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "hunter2" not in html and "Traceback" not in html and "/srv/app.py" not in html
    assert "Reference" in html
    assert "hunter2" in caplog.text  # the log keeps the details for operators
    response = client.get("/missing")
    assert response.status_code == 404 and "ACME" not in response.get_data(as_text=True)
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "Not found" in response.get_data(as_text=True)
    assert client.get("/forbidden").status_code == 403
    response = client.get("/conflict")
    assert response.status_code == 409 and "completed by someone else" in response.get_data(as_text=True)
    response = client.get("/invalid")
    assert response.status_code == 422 and "quantity must be positive" in response.get_data(as_text=True)
    for path in ("/boom", "/missing", "/no/such/page"):
        assert "Content-Security-Policy" in client.get(path).headers
    app.extensions["sealtrail.engine"].dispose()


def test_api_errors_are_problem_documents(shared_db):
    app = _app_with_failures(shared_db)
    client = app.test_client()
    response = client.get("/api/v1/boom")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 404 and body["title"] == "Not found" and body["instance"] == "/api/v1/boom"
    response = client.get("/api/v1/nothing-here")
    assert response.mimetype == "application/problem+json" and response.get_json()["status"] == 404
    app.extensions["sealtrail.engine"].dispose()


def test_error_page_in_chinese(client):
    html = client.get("/no/such/page", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "找不到" in html


def test_bpmn_js_is_served_from_our_static_files(client):
    import importlib.util

    spec = importlib.util.spec_from_file_location("install_vendor", "web/assets/install_vendor.py")
    install_vendor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(install_vendor)

    for package, rel in install_vendor.FILES:
        assert (install_vendor.VENDOR / package / rel).exists(), f"run make env: {package}/{rel} missing"
    response = client.get("/static/vendor/bpmn-js/dist/bpmn-modeler.production.min.js")
    assert response.status_code == 200 and len(response.data) > 100_000
    response.close()
    assert Path("web/static/vendor").exists()
