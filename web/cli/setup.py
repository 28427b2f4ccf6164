"""``init`` and ``serve``: create/upgrade the database and run the web server."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from audit.checkpoints import key_id, signing_key_for
from audit.errors import CheckpointError
from engine import migrate
from engine.governance.profile_revisions import install_shipped
from engine.schema import load_models
from engine.workflows import deploy_all_shipped
from web.cli.bpmn import cli_actor
from web.cli.ops import serve_production
from web.cli.sealing import end_with_checkpoint


def register(cli: click.Group) -> None:
    cli.add_command(init)
    cli.add_command(serve)


def prepare_database() -> None:
    """Upgrade the schema to the newest revision and deploy changed shipped processes."""
    url = current_app.extensions["sealtrail.settings"].database_url
    migrate.upgrade(url)
    click.echo(f"database ready: {', '.join(sorted(migrate.current_heads(url)))}")
    _ensure_checkpoint_key()
    _deploy_shipped_processes()
    _install_shipped_profiles()


@click.command()
@with_appcontext
def init() -> None:
    """Create the database or upgrade it to the newest schema (Alembic)."""
    prepare_database()
    end_with_checkpoint()


def _ensure_checkpoint_key() -> None:
    """A new installation gets its checkpoint key here; an existing one must already have it."""
    settings = current_app.extensions["sealtrail.settings"]
    try:
        with current_app.extensions["sealtrail.sessions"].begin() as session:
            key = signing_key_for(session, settings.checkpoint_key_path)
    except CheckpointError as exc:
        click.echo(f"warning: {exc}", err=True)
        return
    click.echo(f"checkpoint key {settings.checkpoint_key_path} ({key_id(key)})")


def _deploy_shipped_processes() -> None:
    """Deploy the shipped bpmn/*.bpmn of processes not installed yet; report newer shipped files."""
    load_models()
    with current_app.extensions["sealtrail.sessions"].begin() as session:
        result = deploy_all_shipped(session, cli_actor())
        deployed = [f"{v.process_id} v{v.version}" for v in result.deployed]
        unchanged = len(result.unchanged)
        newer = [(getattr(v, "process_id", None) or v.decision_id, v.version, v.file_name)
                 for v in result.newer_shipped]
    for problem in result.problems:
        click.echo(f"process NOT deployed: {problem}", err=True)
    click.echo(f"processes deployed: {', '.join(deployed) or 'none'}; unchanged: {unchanged}")
    for object_id, version, file_name in newer:
        click.echo(f"newer shipped diagram for {object_id} (deployed: v{version}) left undeployed: review "
                   f"bpmn/{file_name} and deploy it with a signed deployment if it should replace v{version}")


def _install_shipped_profiles() -> None:
    """Release the shipped sharing profiles not installed yet as their revision 1 (#18); an installed
    profile changes only through change control (`sealtrail share profile-draft/profile-submit`)."""
    load_models()
    with current_app.extensions["sealtrail.sessions"].begin() as session:
        installed = install_shipped(session, cli_actor())
    click.echo(f"sharing profiles installed: {', '.join(installed) or 'none'}")


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
