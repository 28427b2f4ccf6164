"""The ``sealtrail`` command: Flask's click CLI with one module per area.

Each module in this package defines ``register(cli)``; they are registered in ``_AREAS`` order.
"""
from __future__ import annotations

import click
from flask.cli import FlaskGroup

from web.app import create_app
from web.cli import api, audit, bpmn, demo, ops, processes, setup, trace, users, worker

_AREAS = (setup, demo, users, ops, api, bpmn, worker, processes, trace, audit)


def _create_app():
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False,
             help="Sealtrail: BPMN-driven compliance engine for medical-device manufacturing.")
def cli() -> None:
    pass


for _area in _AREAS:
    _area.register(cli)


def main() -> None:
    """Console entry point."""
    cli(prog_name="sealtrail")
