"""The application factory: all wiring happens here, nothing at import time."""
from __future__ import annotations

from flask import Flask, g

from engine.config import Settings, load_settings
from engine.db import make_engine, make_session_factory


def create_app(config: dict | None = None, settings: Settings | None = None) -> Flask:
    """Build the Flask app; ``config`` overrides Flask config, ``settings`` the Sealtrail settings."""
    settings = settings or load_settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.upload_max_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    if config:
        app.config.update(config)
    app.extensions["sealtrail.settings"] = settings
    db_engine = make_engine(settings.database_url)
    app.extensions["sealtrail.engine"] = db_engine
    app.extensions["sealtrail.sessions"] = make_session_factory(db_engine)

    @app.teardown_appcontext
    def _close_session(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    from web import home, observability, ops

    if settings.log_format:
        observability.configure_logging(settings.log_format, settings.log_level)
    observability.install(app)
    ops.install(app)
    app.register_blueprint(home.bp)
    return app
