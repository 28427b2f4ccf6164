"""Who is calling: an API token (``Authorization: Bearer stk_…``) or a signed-in browser session.

Token requests are machine requests: no cookies, so no CSRF check. Session requests that change
something must carry the CSRF token in ``X-CSRFToken`` (the API blueprint is exempt from the
page-level CSRF protection only because this check replaces it).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, request
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from werkzeug.exceptions import BadRequest, UnsupportedMediaType
from wtforms import ValidationError

from audit import Actor
from engine.access import tokens
from engine.access.rules import get_rule, require
from engine.errors import Forbidden, Unauthenticated
from engine.jsonsafe import check_depth
from web.authz import rule_for
from web.db import transaction

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
# Editing alarm rules is QA's job: a signed-in QA person may, no API token can.
RULES_WRITE = "alarm-rules:write"
# What a signed-in person may do through the API, by role (tokens carry explicit scopes).
ROLE_SCOPES = {
    "operator": {tokens.READ, tokens.ALARMS_WRITE, tokens.MEASUREMENTS_WRITE, tokens.WORKFLOWS_START,
                 tokens.PRODUCTION},
    "process_engineer": {tokens.READ, tokens.MEASUREMENTS_WRITE, tokens.WORKFLOWS_START, tokens.PRODUCTION},
    "production_manager": {tokens.READ, tokens.ALARMS_WRITE, tokens.MEASUREMENTS_WRITE,
                           tokens.WORKFLOWS_START, tokens.PRODUCTION},
    "qa_engineer": {tokens.READ, tokens.WORKFLOWS_START, RULES_WRITE, tokens.PRODUCTION},
    "qa_manager": {tokens.READ, tokens.WORKFLOWS_START, RULES_WRITE, tokens.PRODUCTION},
    "regulatory": {tokens.READ},
    "auditor": {tokens.READ},
    "admin": {tokens.READ},
}


@dataclass(frozen=True)
class Client:
    """The authenticated caller of one API request."""

    actor: Actor
    scopes: frozenset[str]
    via: str  # "token" | "session"
    user: object | None = None
    share_profile: str | None = None  # a token bound to a sharing profile sees only its masked view
    share_recipient: str | None = None
    token_public_id: str | None = None

    @property
    def client_id(self) -> str:
        return self.actor.id if self.actor.id.startswith("token:") else f"{self.actor.kind}:{self.actor.id}"


def current_client() -> Client:
    """The caller of this request (set by :func:`guard`)."""
    return g.api_client


def guard():
    """before_request of the API: authenticate, authorize, then check the body's envelope.

    A token needs the view's scope; a browser session needs the scope its roles give and the
    view's authorization rule (web.authz), the same rule the pages follow.
    """
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return None
    name = rule_for(current_app, request.endpoint)
    if name is None:
        raise Forbidden("this operation has no authorization rule", field="rule")
    if not get_rule(name).public:
        client = _authenticate()
        needed = getattr(view, "required_scope", tokens.READ)
        if needed not in client.scopes:
            raise Forbidden(f"this operation needs the scope {needed!r}", field="scope")
        if client.share_profile and not getattr(view, "shared_view", False):
            raise Forbidden(f"this token is bound to the sharing profile {client.share_profile!r}: it reads "
                            "/api/v1/shared only", field="share_profile")
        if client.via == "session":
            require(name, client.user.role_names)
        if client.via == "session" and request.method in UNSAFE:
            _check_csrf()
        g.api_client = client
    if request.method in ("POST", "PUT", "PATCH"):
        _check_body()
    return None


def _authenticate() -> Client:
    header = request.headers.get("Authorization", "")
    if header:
        kind, _, credential = header.partition(" ")
        if kind.lower() != "bearer" or not credential.strip():
            raise Unauthenticated("use 'Authorization: Bearer <API token>'")
        with transaction() as session:
            token = tokens.authenticate(session, credential.strip())
            return Client(actor=tokens.actor_for_token(token), scopes=token.scope_set, via="token",
                          share_profile=token.share_profile, share_recipient=token.share_recipient,
                          token_public_id=token.public_id)
    client = _session_client()
    if client is None:
        raise Unauthenticated("an API token or a signed-in session is required")
    return client


def _session_client() -> Client | None:
    if getattr(current_app, "login_manager", None) is None:
        return None

    if not current_user or not current_user.is_authenticated:
        return None
    scopes: set[str] = set()
    for role in current_user.role_names:
        scopes |= ROLE_SCOPES.get(role, set())
    actor = Actor(kind="user", id=str(current_user.id), name=current_user.printed_name)  # as engine.users.actor_for
    return Client(actor=actor, scopes=frozenset(scopes), via="session", user=current_user)


def _check_csrf() -> None:
    try:
        validate_csrf(request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token"))
    except ValidationError as exc:
        raise Forbidden(f"CSRF check failed: {exc}", field="X-CSRFToken") from exc


def _check_body() -> None:
    request.max_content_length = current_app.config["API_MAX_BODY_BYTES"]
    if not request.is_json:
        exc = UnsupportedMediaType(
            f"send the body as application/json (got {request.mimetype or 'no content type'})")
        raise exc
    check_depth(request.get_data(cache=True))  # 413 first when the body is larger than the limit
    try:
        request.get_json()
    except BadRequest as exc:
        raise BadRequest("the body is not valid JSON") from exc
