"""The JSON API under ``/api/v1`` (flask-openapi3): the pydantic models that validate each
request also generate the OpenAPI 3.1 document at ``/api/v1/openapi.json``; the browsable docs
are at ``/api/v1/swagger``. Routes stay thin: they parse, call one engine use case, answer.
"""
from __future__ import annotations

from flask_openapi3 import APIBlueprint, OpenAPI
from flask_openapi3_swagger.templates import swagger_html_string

from web.api import alarm_rules, alarms, audit, auth, measurements, shared, shopfloor, system, trace, workflows
from web.api.common import PROBLEM_RESPONSES

PREFIX = "/api/v1"
DEFAULT_MAX_BODY = 1024 * 1024


def _swagger_page() -> str:
    """Swagger UI's page with our CSP nonce on its inline script and style (web/security.py)."""
    nonce = ' nonce="{{ csp_nonce() }}"'
    return swagger_html_string.replace("<script>", f"<script{nonce}>").replace("<style>", f"<style{nonce}>")


def register(app: OpenAPI) -> None:
    """Build a fresh blueprint (one per app) and register it."""
    app.config.setdefault("API_MAX_BODY_BYTES", DEFAULT_MAX_BODY)
    app.config.setdefault("SWAGGER_HTML_STRING", _swagger_page())
    api = APIBlueprint("api", __name__, url_prefix=PREFIX, abp_responses=PROBLEM_RESPONSES)
    api.before_request(auth.guard)
    for module in (system, alarms, alarm_rules, measurements, workflows, audit, trace, shopfloor, shared):
        module.routes(api)
    app.register_api(api)
    csrf = app.extensions.get("csrf")
    if csrf is not None:  # the API checks CSRF itself, for cookie sessions only (web/api/auth.py)
        csrf.exempt(api)
