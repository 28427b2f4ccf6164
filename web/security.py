"""Security wiring: CSRF, session cookies, headers with a nonce-based CSP, idle timeout, roles.

Every page is served with a Content-Security-Policy that allows scripts and style sheets only
from our own origin (plus a per-request nonce for the rare inline ``<script>`` a template needs:
``<script nonce="{{ csp_nonce() }}">``). Data for scripts travels in ``data-*`` attributes or
``<script type="application/json">`` blocks, which CSP does not execute.
"""
from __future__ import annotations

import os
import secrets
from functools import wraps

from flask import Flask, abort, current_app, g, request
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


def csp_nonce() -> str:
    """The per-request CSP nonce (created on first use)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _policy(nonce: str) -> str:
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        f"style-src 'self' 'nonce-{nonce}'",
        # bpmn-js sets style attributes on SVG nodes it draws; attributes only, never <style>.
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def _add_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", _policy(csp_nonce()))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if not request.path.startswith("/static/"):
        # Regulated records must not linger in shared browser caches.
        headers.setdefault("Cache-Control", "no-store")
    return response


def cookie_secure_default() -> bool:
    """Secure cookies unless ``SEALTRAIL_COOKIE_SECURE=0`` (plain-HTTP development only)."""
    return os.environ.get("SEALTRAIL_COOKIE_SECURE", "1").lower() not in ("0", "false", "no")


def init_security(app: Flask) -> None:
    """CSRF on every form, hardened cookies, headers on every response, `has_role` in templates."""
    csrf.init_app(app)
    app.jinja_env.globals["has_role"] = has_role
    app.after_request(_add_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce


def has_role(*roles: str) -> bool:
    """True when the signed-in user holds one of ``roles`` (admin holds every role)."""
    if not current_user.is_authenticated:
        return False
    held = set(current_user.role_names)
    return "admin" in held or bool(held & set(roles))


def role_required(*roles: str):
    """View decorator: 403 unless the user holds one of ``roles``; sign-in required first."""

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if roles and not has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate
