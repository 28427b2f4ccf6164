"""``demo``: create the database, load the demo plant once, and serve it."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from engine.demo import load_demo
from engine.demo.quality_instances import start_demo_processes
from engine.errors import SealtrailError
from web.cli.sealing import end_with_checkpoint
from web.cli.setup import prepare_database, run_dev_server


def register(cli: click.Group) -> None:
    cli.add_command(demo)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to serve on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to serve on.")
@click.option("--load-only", is_flag=True, help="Create the database and load the demo plant, then exit.")
@with_appcontext
def demo(host: str, port: int, load_only: bool) -> None:
    """Create the database, load the demo plant (a sterile infusion set) once, and serve it.

    Demo accounts get generated passwords and authenticator (TOTP) secrets, printed once when
    the plant is first loaded. Running it again keeps the existing data.
    """
    settings = current_app.extensions["sealtrail.settings"]
    prepare_database()
    try:
        with current_app.extensions["sealtrail.sessions"].begin() as session:
            result = load_demo(session, settings)
            started = _start_processes(session, settings, result) if result is not None else {}
    except SealtrailError as exc:
        raise click.ClickException(exc.message) from exc
    end_with_checkpoint()
    if result is None:
        click.echo("The demo plant is already loaded (its passwords were printed when it was first loaded; "
                   "`sealtrail users reset-password NAME` issues a new one).")
    else:
        _print_credentials(result)
        for process, instance_id in started.items():
            click.echo(f"Waiting in an inbox: {process} (instance {instance_id})")
    if not load_only:
        click.echo(f"Serving on http://{host}:{port}/  (Ctrl+C to stop)")
        run_dev_server(host, port)


def _start_processes(session, settings, result) -> dict:
    """One instance of each quality process waiting in someone's inbox (engine/demo/quality_instances.py)."""
    return start_demo_processes(session, settings, result)


def _print_credentials(result) -> None:
    click.echo(f"Demo plant loaded: {len(result.lots)} lots, {len(result.users)} users.")
    click.echo("")
    click.echo("DEMO ACCOUNTS - shown once, not stored in clear anywhere. For evaluation only:")
    click.echo("never run a production system with accounts created this way.")
    click.echo("Add the TOTP secret to an authenticator app (or `python -c \"import pyotp; "
               "print(pyotp.TOTP('SECRET').now())\"`) to sign.")
    click.echo("")
    width = max(len(u.username) for u in result.users)
    click.echo(f"  {'username'.ljust(width)}  {'password':<16}  {'TOTP secret':<34}  roles / printed name")
    for u in result.users:
        click.echo(f"  {u.username.ljust(width)}  {u.password:<16}  {(u.totp_secret or '-'):<34}  "
                   f"{', '.join(u.roles)} / {u.printed_name}")
    click.echo("")
