"""The application factory: all wiring happens here, nothing at import time."""
from __future__ import annotations

import os
from datetime import timedelta

from flask import Flask
from flask_openapi3 import Info, OpenAPI

from engine.config import Settings, checkpoint_files, load_settings
from engine.db import make_engine, make_session_factory
from web import (admin, api, auditor, auth, authz, calibration, competence, decision_editor, delegations,
                 draft_edits, drafts, editor, errors, form_builder, home, i18n, inbox, instance_moves, instances, login,
                 lotplan, lots, masterdata, nav, notifications, observability, oidc, ops, planning, resources,
                 routing_edits, security, share_profiles, starts, station, tasks, trace, unit_station,
                 usersessions)
from web.api.common import SECURITY_SCHEMES
from web.checkpoint_runs import install_auto_checkpoints
from web.security import cookie_secure_default

# Page blueprints, one module per area (web/<name>.py exposes ``bp``). Other areas add theirs here.
_BLUEPRINTS = (home, auth, inbox, tasks, instances, starts, lots, station, unit_station, calibration, competence,
               masterdata, drafts, editor, auditor, trace, usersessions, admin, planning, decision_editor, lotplan,
               draft_edits, resources, form_builder, notifications, routing_edits, instance_moves, delegations, oidc,
               share_profiles)


def create_app(config: dict | None = None, settings: Settings | None = None) -> Flask:
    """Build the Flask app; ``config`` overrides Flask config, ``settings`` the Sealtrail settings."""
    settings = settings or load_settings()
    # flask-openapi3's Flask subclass: it collects the JSON API's routes (web/api) into the
    # OpenAPI 3.1 document at /api/v1/openapi.json; request validation errors become problems.
    app = OpenAPI(__name__, info=Info(title="Sealtrail API", version="1"),
                  security_schemes=SECURITY_SCHEMES, doc_prefix="/api/v1", doc_url="/openapi.json",
                  validation_error_model=errors.Problem,
                  validation_error_callback=errors.validation_problem)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.upload_max_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=cookie_secure_default(),
        SESSION_COOKIE_NAME="sealtrail_session",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the (idle-limited) session
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        RATELIMIT_STORAGE_URI=os.environ.get("SEALTRAIL_RATELIMIT_STORAGE_URI", "memory://"),
        RATELIMIT_HEADERS_ENABLED=True,
    )
    if config:
        app.config.update(config)
    app.extensions["sealtrail.settings"] = settings
    db_engine = make_engine(settings.database_url)
    app.extensions["sealtrail.engine"] = db_engine
    app.extensions["sealtrail.sessions"] = make_session_factory(db_engine)
    # Sign the audit head every `checkpoint_every` entries, after the commit that crossed it.
    install_auto_checkpoints(app.extensions["sealtrail.sessions"], settings.checkpoint_key_path,
                             checkpoint_files(settings), settings.checkpoint_every)

    if settings.log_format:
        observability.configure_logging(settings.log_format, settings.log_level)
    observability.install(app)
    security.init_security(app)
    app.before_request(auth.idle_timeout)  # right after the security headers, before the sign-in guard
    i18n.init_i18n(app)
    login.init_login(app)
    authz.init_authz(app)  # after the sign-in guard: the rule of every route
    nav.init_nav(app)
    errors.register_error_handlers(app)
    ops.install(app)

    for module in _BLUEPRINTS:
        app.register_blueprint(module.bp)

    api.register(app)
    return app
