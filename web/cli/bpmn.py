"""``sealtrail bpmn validate FILE...`` and ``sealtrail bpmn deploy FILE...``."""
from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from engine.schema import load_models
from sqlalchemy.exc import SQLAlchemyError

from audit import Actor
from engine.errors import DeploymentRefused
from engine.workflows import Document, deploy, validate_documents
from engine.workflows.specs import validate as validate_offline


def register(cli: click.Group) -> None:
    cli.add_command(bpmn)


@click.group()
def bpmn() -> None:
    """Validate and deploy BPMN process definitions."""


def _documents(files) -> list[Document]:
    return [Document(Path(f).name, Path(f).read_bytes()) for f in files]


def _max_bytes() -> int:
    return current_app.extensions["sealtrail.settings"].upload_max_bytes


def cli_actor() -> Actor:
    """The actor recorded for CLI deployments (the operating-system account that ran it)."""
    return Actor(kind="system", id="cli", name=f"sealtrail CLI ({getpass.getuser()})")


@bpmn.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object with every problem.")
@with_appcontext
def validate_cmd(files, as_json: bool) -> None:
    """Check FILES without deploying; exit 0 when valid, 1 with one line per problem."""
    load_models()
    docs = _documents(files)
    try:
        with current_app.extensions["sealtrail.sessions"].begin() as session:
            result = validate_documents(session, docs, max_bytes=_max_bytes())
    except SQLAlchemyError:  # no database yet: validate the files on their own
        result = validate_offline(docs, max_bytes=_max_bytes())
    if as_json:
        click.echo(json.dumps({"valid": result.ok, "processes": sorted(result.processes),
                               "problems": [p.as_dict() for p in result.problems]}, indent=2))
    else:
        for problem in result.problems:
            click.echo(str(problem))
        if result.ok:
            click.echo(f"valid: {', '.join(sorted(result.processes))}")
    sys.exit(0 if result.ok else 1)


@bpmn.command("deploy")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--comment", default=None, help="Why this version is deployed (recorded and audited).")
@with_appcontext
def deploy_cmd(files, comment: str | None) -> None:
    """Validate FILES, then store each executable process as a new immutable version."""
    load_models()
    try:
        with current_app.extensions["sealtrail.sessions"].begin() as session:
            result = deploy(session, cli_actor(), _documents(files), comment=comment, max_bytes=_max_bytes(),
                            skip_unchanged=True)
            lines = [f"deployed {v.process_id} v{v.version} ({v.content_sha256[:12]})" for v in result.deployed]
            lines += [f"unchanged {v.process_id} v{v.version} (same content already deployed)"
                      for v in result.unchanged]
    except DeploymentRefused as exc:
        for detail in exc.details:
            click.echo(f"{detail['file']}:{detail['line'] or ''}: {detail['element_id'] or '-'}: {detail['reason']}")
        sys.exit(1)
    for line in lines:
        click.echo(line)
