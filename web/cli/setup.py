"""``init`` and ``serve``: create/upgrade the database and run the web server."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from engine import migrate
from engine.schema import load_models
from engine.workflows import deploy_all_shipped
from web.cli.bpmn import cli_actor
from web.cli.ops import serve_production


def register(cli: click.Group) -> None:
    cli.add_command(init)
    cli.add_command(serve)


@click.command()
@with_appcontext
def init() -> None:
    """Create the database or upgrade it to the newest schema (Alembic)."""
    prepare_database()


def prepare_database() -> None:
    """Upgrade the schema to the newest revision and deploy changed shipped processes."""
    url = current_app.extensions["sealtrail.settings"].database_url
    migrate.upgrade(url)
    click.echo(f"database ready: {', '.join(sorted(migrate.current_heads(url)))}")
    _deploy_shipped_processes()


def _deploy_shipped_processes() -> None:
    """Deploy bpmn/*.bpmn (files whose content is already the latest version are skipped)."""
    load_models()
    with current_app.extensions["sealtrail.sessions"].begin() as session:
        result = deploy_all_shipped(session, cli_actor())
        deployed = [f"{v.process_id} v{v.version}" for v in result.deployed]
        unchanged = len(result.unchanged)
    for problem in result.problems:
        click.echo(f"process NOT deployed: {problem}", err=True)
    click.echo(f"processes deployed: {', '.join(deployed) or 'none'}; unchanged: {unchanged}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--production", is_flag=True,
              help="gunicorn with several workers and JSON logs (see docs/deployment.md).")
@click.option("--workers", type=int, default=None,
              help="[production] worker processes (default 2 x cores + 1, at most 9).")
@click.option("--threads", type=int, default=4, show_default=True,
              help="[production] threads per worker.")
@click.option("--timeout", type=int, default=60, show_default=True,
              help="[production] seconds before a silent worker is restarted.")
@click.option("--proxies", type=int, default=0, show_default=True,
              help="[production] trusted reverse proxies in front (X-Forwarded-* headers).")
@click.option("--skip-readiness-check", is_flag=True,
              help="[production] start even if the database is unreachable or not migrated.")
@with_appcontext
def serve(host: str, port: int, production: bool, workers: int | None, threads: int,
          timeout: int, proxies: int, skip_readiness_check: bool) -> None:
    """Serve the web application (development server unless --production)."""
    if production:
        serve_production(host=host, port=port, workers=workers, threads=threads,
                         timeout=timeout, proxies=proxies, check=not skip_readiness_check)
        return
    run_dev_server(host, port)


def run_dev_server(host: str, port: int) -> None:
    """Serve the current app with Werkzeug's threaded server.

    ``app.run()`` refuses to block inside the ``flask`` CLI (FLASK_RUN_FROM_CLI), so call the
    server directly, as ``flask run`` itself does.
    """
    run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False,
               use_debugger=False)
