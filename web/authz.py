"""Every route declares its authorization rule (engine.access.rules); one check enforces it.

Declare a rule on a view (``@rule("audit_trail")``), on a whole blueprint
(``blueprint_rule(bp, "bpmn.edit")``), or, for endpoints we do not write ourselves (Flask's
``static``, flask-openapi3's docs), with :func:`declare_endpoint`. Pages are checked in
:func:`enforce` (a ``before_request`` after the sign-in guard); the JSON API checks the same rule
in ``web.api.auth.guard`` for browser sessions. A route without a declaration is refused (403)
and fails ``tests/web/test_web_authz_matrix.py``.
"""
from __future__ import annotations

import logging

from flask import Flask, abort, current_app, request
from flask_login import current_user

from engine.access.rules import allows, get_rule

log = logging.getLogger(__name__)

# Endpoints registered by libraries, not by our modules.
_LIBRARY_ENDPOINTS = {"static": "public"}
_OPENAPI_BLUEPRINTS = ("openapi", "swagger")  # the API description and its viewer


def rule(name: str):
    """View decorator: the view's authorization rule is ``name``."""
    get_rule(name)

    def mark(view):
        view.access_rule = name
        return view

    return mark


def blueprint_rule(bp, name: str) -> None:
    """Every view of ``bp`` without its own :func:`rule` follows ``name``."""
    get_rule(name)
    bp.access_rule = name


def declare_endpoint(app: Flask, endpoint: str, name: str) -> None:
    """Declare the rule of an endpoint registered by a library."""
    get_rule(name)
    app.extensions.setdefault("sealtrail.access_rules", {})[endpoint] = name


def rule_for(app: Flask, endpoint: str) -> str | None:
    """The rule declared for ``endpoint`` (None when undeclared)."""
    view = app.view_functions.get(endpoint)
    declared = getattr(view, "access_rule", None)
    if declared:
        return declared
    if endpoint in app.extensions.get("sealtrail.access_rules", {}):
        return app.extensions["sealtrail.access_rules"][endpoint]
    if endpoint in _LIBRARY_ENDPOINTS:
        return _LIBRARY_ENDPOINTS[endpoint]
    blueprint = app.blueprints.get(endpoint.rpartition(".")[0]) if "." in endpoint else None
    if blueprint is not None and getattr(blueprint, "access_rule", None):
        return blueprint.access_rule
    if blueprint is not None and blueprint.name in _OPENAPI_BLUEPRINTS:
        return "public"
    return None


def undeclared(app: Flask) -> list[str]:
    """Endpoints without a rule (the test suite keeps this empty)."""
    return sorted(e for e in app.view_functions if rule_for(app, e) is None)


def is_public(app: Flask, endpoint: str | None) -> bool:
    """True when ``endpoint`` is declared public."""
    name = rule_for(app, endpoint) if endpoint else None
    return name is not None and get_rule(name).public


def user_roles() -> frozenset[str]:
    """The roles of the signed-in user (empty when nobody is signed in)."""
    if not current_user or not current_user.is_authenticated:
        return frozenset()
    return frozenset(current_user.role_names)


def permitted(endpoint: str, roles, *, signed_in: bool = True) -> bool:
    """True when a caller with ``roles`` may use ``endpoint`` (False when it has no rule)."""
    name = rule_for(current_app, endpoint)
    return name is not None and allows(name, roles, signed_in=signed_in)


def enforce():
    """before_request for pages: 403 unless the endpoint's rule lets the signed-in user in."""
    if request.endpoint is None or request.path.startswith("/api/"):
        return None  # 404/405, or the API (web/api/auth.py checks the same rules)
    name = rule_for(current_app, request.endpoint)
    if name is None:
        log.error("route %s has no authorization rule: refused", request.endpoint)
        abort(403)
    if get_rule(name).public or not current_user.is_authenticated:
        return None  # public, or the sign-in guard (web/login.py) has already answered
    if not allows(name, current_user.role_names):
        abort(403)
    return None


def init_authz(app: Flask) -> None:
    """Install the check (after web.login's sign-in guard) and the template helper."""
    app.before_request(enforce)
    app.jinja_env.globals["may_use"] = may_use


def may_use(endpoint: str) -> bool:
    """True when the current user may use ``endpoint`` (navigation, links, buttons)."""
    return permitted(endpoint, user_roles(), signed_in=bool(current_user and current_user.is_authenticated))
