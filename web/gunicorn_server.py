"""The production server: gunicorn with several workers, JSON logs, behind a reverse proxy.

``sealtrail serve --production`` runs this in-process (gunicorn's ``BaseApplication``); the
equivalent plain command is documented in docs/deployment.md. Workers are forked before the app
is built (no preload), so every worker owns its own database pool.
"""
from __future__ import annotations

import logging
import os

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger as GunicornLogger

from engine.config import load_settings
from web.app import create_app
from web.observability import JsonFormatter, RequestIdFilter


def default_workers() -> int:
    """gunicorn's rule of thumb, 2 × cores + 1, capped at 9."""
    return min(2 * (os.cpu_count() or 1) + 1, 9)


class JsonGunicornLogger(GunicornLogger):
    """gunicorn's own messages (boot, worker exits, timeouts) as JSON lines too."""

    def setup(self, cfg):
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())
            handler.addFilter(RequestIdFilter())


def build_app(proxies: int = 0):
    """The WSGI app one worker serves (``proxies`` = trusted reverse proxies in front)."""
    settings = load_settings()
    if not settings.log_format:
        settings = load_settings(log_format="json")
    app = create_app(settings=settings)
    if proxies:
        # Trust X-Forwarded-For/-Proto/-Host from exactly that many proxies (TLS ends there);
        # trusting more would let a client forge its address into the audit trail.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies,
                                x_prefix=proxies)
    logging.getLogger("sealtrail.server").info(
        "worker ready", extra={"database": settings.database_url.split("://", 1)[0]})
    return app


class ProductionServer(BaseApplication):
    """gunicorn configured from code (no config file to forget on a server)."""

    def __init__(self, options: dict, proxies: int = 0):
        self.options = options
        self.proxies = proxies
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if key in self.cfg.settings:  # settings newer than the installed gunicorn are skipped
                self.cfg.set(key, value)

    def load(self):
        return build_app(self.proxies)


def gunicorn_options(*, bind: str, workers: int, threads: int, timeout: int,
                     log_level: str) -> dict:
    """The gunicorn settings Sealtrail runs with (also printed by ``--print-config``)."""
    return {
        "bind": bind,
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": timeout,
        "graceful_timeout": 30,
        "keepalive": 5,
        # Recycle workers now and then so a slow leak can never take a server down.
        "max_requests": 5000,
        "max_requests_jitter": 500,
        "accesslog": None,  # the app writes its own access line, with the request id
        "errorlog": "-",
        "loglevel": log_level.lower(),
        "logger_class": JsonGunicornLogger,
        "proc_name": "sealtrail",
        "forwarded_allow_ips": "127.0.0.1,::1",
        # gunicorn >= 25.1 opens a control socket under $HOME; a service account may have none.
        "control_socket_disable": True,
    }


def run(options: dict, proxies: int = 0) -> None:
    """Start gunicorn in this process; returns when it stops (SIGTERM: graceful)."""
    ProductionServer(options, proxies).run()
