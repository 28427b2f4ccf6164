"""``init`` and ``serve``: create/upgrade the database and run the web server."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from engine import migrate


def register(cli: click.Group) -> None:
    cli.add_command(init)
    cli.add_command(serve)


@click.command()
@with_appcontext
def init() -> None:
    """Create the database or upgrade it to the newest schema (Alembic)."""
    url = current_app.extensions["sealtrail.settings"].database_url
    migrate.upgrade(url)
    click.echo(f"database ready: {', '.join(sorted(migrate.current_heads(url)))}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve(host: str, port: int) -> None:
    """Serve the web application (development server; see docs/deployment.md for production)."""
    current_app.run(host=host, port=port, use_reloader=False, threaded=True)
