"""The ``sealtrail`` command: Flask's click CLI with one module per area.

Each module in this package defines ``register(cli)``; they are registered in ``_AREAS`` order.
"""
from __future__ import annotations

from importlib import metadata

import click
from flask.cli import FlaskGroup
from sqlalchemy.exc import DBAPIError

from audit.errors import CheckpointError
from engine.config import ConfigError
from web.app import create_app
from web.cli.database import explain_database_error
from web.cli import (api, audit, bpmn, delegations, demo, governance, maintenance, notifications, ops, planning,
                     processes, serials, setup, trace, users, worker)

_AREAS = (setup, demo, users, ops, api, bpmn, worker, notifications, processes, trace, audit, governance, planning, serials,
          maintenance, delegations)


def _create_app():
    return create_app()


class SealtrailGroup(FlaskGroup):
    """Flask's group (app context for every command) without Flask's own surface: no ``-e/-A/--debug``,
    no ``--version`` of Flask, no commands plugged in by other packages (``limiter``, ``openapi``)."""

    _FLASK_OPTIONS = {"env_file", "app", "debug", "version"}

    def __init__(self, **extra):
        super().__init__(add_default_commands=False, add_version_option=False, load_dotenv=False,
                         set_debug_flag=False, **extra)
        self.params = [p for p in self.params if p.name not in self._FLASK_OPTIONS]
        self.params.append(click.Option(["--version"], is_flag=True, expose_value=False, is_eager=True,
                                        callback=_print_version, help="Show Sealtrail's version and exit."))

    def _load_plugin_commands(self) -> None:
        self._loaded_plugin_commands = True  # only our own commands

    # Our own commands only: not the ones extensions add to ``app.cli`` (flask-openapi3's ``openapi``),
    # and listing them does not build the app. Each command still runs inside the app context
    # (AppGroup wraps it with ``with_appcontext``).
    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return click.Group.get_command(self, ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return click.Group.list_commands(self, ctx)

    def invoke(self, ctx: click.Context):
        """Setup problems (configuration, a missing or unmigrated database, a missing key) are
        reported in one line with the command that fixes them, never as a traceback."""
        try:
            return super().invoke(ctx)
        except (ConfigError, CheckpointError) as exc:
            raise click.ClickException(str(exc)) from exc
        except DBAPIError as exc:
            raise click.ClickException(explain_database_error(exc)) from exc


def _print_version(ctx: click.Context, _param, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"sealtrail {_version()}")
        ctx.exit()


def _version() -> str:
    try:
        return metadata.version("sealtrail")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown (not installed)"


@click.group(cls=SealtrailGroup, create_app=_create_app,
             help="Sealtrail: BPMN-driven compliance engine for medical-device manufacturing.")
def cli() -> None:
    pass


for _area in _AREAS:
    _area.register(cli)


def main() -> None:
    """Console entry point."""
    cli(prog_name="sealtrail")
