"""``sealtrail bpmn validate|deploy FILE...`` (BPMN and DMN files), ``simulate FILE`` and
``migrate PROCESS`` (move running instances to another version, in bulk)."""
from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from audit import Actor
from audit.errors import SignatureError
from engine.errors import SealtrailError
from engine.schema import load_models
from engine.workflows import Document, deploy, validate_documents, xmlsafe
from engine.processes.deploy_changes import route_deployment
from engine.workflows.deploy import via_change_control
from engine.workflows.lint import NS
from engine.workflows.migration import MIGRATOR_ROLES, migrate_instances, plan_bulk_migration
from engine.workflows.simulation import simulate
from engine.workflows.specs import validate as validate_offline
from web.cli.actors import acting_user, actor_of, cli_signing_policy, read_credentials, signed_change
from web.db import signing_transaction

EDITOR_ROLES = ("process_engineer",)  # as the editor page (web/editor.py)
DEPLOY_MEANING = "approved"


def register(cli: click.Group) -> None:
    cli.add_command(bpmn)


@click.group()
def bpmn() -> None:
    """Validate and deploy BPMN process definitions and DMN decision tables."""


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
    """Check FILES (.bpmn, .dmn) without deploying: lint, decision-table verification (overlaps,
    gaps, unreachable rules, types) and test sheets; exit 0 when valid, 1 when any error is found.

    One line per finding: file:line: element id (name): reason; warnings say "warning:" and do
    not change the exit code."""
    load_models()
    docs = _documents(files)
    try:
        with current_app.extensions["sealtrail.sessions"].begin() as session:
            result = validate_documents(session, docs, max_bytes=_max_bytes())
    except SQLAlchemyError:  # no database yet: validate the files on their own
        result = validate_offline(docs, max_bytes=_max_bytes())
    if as_json:
        click.echo(json.dumps({"valid": result.ok, "processes": sorted(result.processes),
                               "decisions": sorted(result.decisions),
                               "problems": [p.as_dict() for p in result.problems],
                               "warnings": [p.as_dict() for p in result.warnings]}, indent=2))
    else:
        for problem in result.problems + result.warnings:
            click.echo(str(problem))
        if result.ok:
            tables = [f"{d} ({len(p.table.rows)} rules, {len(p.table.tests)} tests passed)"
                      for d, p in sorted(result.decisions.items())]
            click.echo(f"valid: {', '.join(sorted(result.processes) + tables)}")
    sys.exit(0 if result.ok else 1)


@bpmn.command("deploy")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--comment", required=True, help="Why this version is deployed (recorded, audited and signed).")
@click.option("--by", "by", required=True,
              help="The process engineer deploying (and signing) it; password and authenticator code are "
                   "prompted, or read as two lines from stdin.")
@with_appcontext
def deploy_cmd(files, comment: str, by: str) -> None:
    """Validate FILES, then store each changed executable process and decision table as a new
    immutable version (a process version pins the table versions it runs), signed by a process
    engineer as in the editor."""
    load_models()
    documents = _documents(files)
    with current_app.extensions["sealtrail.sessions"]() as session:  # refuse before asking to sign
        validation = validate_documents(session, documents, max_bytes=_max_bytes())
        routed = sorted(pid for pid in validation.processes if via_change_control(session, pid))
    if not validation.ok:
        for problem in validation.problems:
            click.echo(str(problem))
        sys.exit(1)
    if routed:
        if len(documents) != 1 or len(validation.processes) != 1 or validation.decisions:
            raise click.ClickException(f"deploys of {', '.join(routed)} go through change control: deploy "
                                       "that diagram alone to open its change request")
        _route(by, documents[0], routed[0], comment)
        return

    def change(session, user):
        result = deploy(session, actor_of(user), documents, comment=comment, max_bytes=_max_bytes(),
                        skip_unchanged=True)
        if not result.deployed and not result.decisions_deployed:
            raise click.ClickException("nothing to deploy: " + ", ".join(
                f"{v.process_id} v{v.version} has the same content" for v in result.unchanged))
        record = {"versions": [{"process_id": v.process_id, "version": v.version,
                                "content_sha256": v.content_sha256} for v in result.deployed],
                  "decisions": [{"decision_id": v.decision_id, "version": v.version,
                                 "content_sha256": v.content_sha256} for v in result.decisions_deployed],
                  "comment": comment}
        lines = [f"deployed decision {v.decision_id} v{v.version} ({v.content_sha256[:12]})"
                 for v in result.decisions_deployed]
        lines += [f"deployed {v.process_id} v{v.version} ({v.content_sha256[:12]})" for v in result.deployed]
        lines += [f"unchanged {v.process_id} v{v.version} (same content already deployed)" for v in result.unchanged]
        record_id = ",".join([f"{v.process_id}:v{v.version}" for v in result.deployed]
                             + [f"{v.decision_id}:v{v.version}" for v in result.decisions_deployed])
        return lines, record_id, record

    for line in signed_change(by, EDITOR_ROLES, change, record_type="process_version", reason=comment,
                              meaning=DEPLOY_MEANING):
        click.echo(line)


def _route(by: str, document: Document, process_id: str, comment: str) -> None:
    """Open the change request that carries ``document`` (#14): ``by`` signs its submission."""
    sessions = current_app.extensions["sealtrail.sessions"]
    policy = cli_signing_policy()
    with sessions() as session:  # refuse a wrong --by before asking for a password
        acting_user(session, by, EDITOR_ROLES)
    credentials = read_credentials(by)
    try:
        with signing_transaction(sessions, policy) as session:
            user = acting_user(session, by, EDITOR_ROLES)
            number = route_deployment(session, user, document, process_id, comment=comment,
                                      password=credentials.password, totp_code=credentials.totp_code,
                                      policy=policy, max_bytes=_max_bytes()).number
    except SignatureError as exc:
        raise click.ClickException(f"not changed: {exc}") from exc
    except SealtrailError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"change request {number} opened for {process_id}: the diagram is deployed when the change "
               "is implemented")


@bpmn.command("migrate")
@click.argument("process_id")
@click.option("--to", "to_version", type=int, default=None, help="The version to move to (default: the latest).")
@click.option("--dry-run", is_flag=True, help="Only report which instances can move, which cannot and why.")
@click.option("--reason", default="", help="Why the instances move (required without --dry-run; signed, audited).")
@click.option("--by", "by", default=None, help="The QA manager (or admin) who signs the move; password and "
                                                "authenticator code are prompted, or read as two lines from stdin.")
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON object.")
@with_appcontext
def migrate_cmd(process_id: str, to_version: int | None, dry_run: bool, reason: str, by: str | None,
                as_json: bool) -> None:
    """Move the running instances of PROCESS_ID to another deployed version, in bulk.

    The report lists each instance: movable, or refused with the reason (a task already started or
    completed was changed or removed in the target version). Without --dry-run the movable ones are
    moved in one transaction under one signature (meaning approved) covering the before/after
    summary; each moved instance gets its own audit entry. Exit 1 when nothing can move."""
    load_models()
    sessions = current_app.extensions["sealtrail.sessions"]
    with sessions() as session:
        try:
            plans = plan_bulk_migration(session, process_id, to_version)
        except SealtrailError as exc:
            raise click.ClickException(exc.message) from exc
    movable = [p.instance_id for p in plans if p.ok]
    _print_migration(plans, as_json)
    if dry_run or not movable:
        sys.exit(0 if movable or not plans else 1)
    if not by or not reason.strip():
        raise click.UsageError("moving instances needs --by (who signs) and --reason; or use --dry-run")
    with sessions() as session:  # refuse a wrong --by before asking for a password
        try:
            acting_user(session, by, MIGRATOR_ROLES)
        except SealtrailError as exc:
            raise click.ClickException(exc.message) from exc
    credentials = read_credentials(by)
    policy = cli_signing_policy()
    try:
        with signing_transaction(sessions, policy) as session:
            user = acting_user(session, by, MIGRATOR_ROLES)
            done = migrate_instances(session, user=user, instance_ids=movable, target_version=to_version,
                                     reason=reason, totp_code=credentials.totp_code, password=credentials.password,
                                     policy=policy)
    except SignatureError as exc:
        raise click.ClickException(f"not moved: {exc}") from exc
    except SealtrailError as exc:
        raise click.ClickException(exc.message) from exc
    moved = [p for p in done if p.ok]
    click.echo(f"moved {len(moved)} instance(s) to {process_id} v{moved[0].to_version if moved else to_version}, "
               f"signed by {by}")


def _print_migration(plans, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"instances": [dict(p.summary(), movable=p.ok) for p in plans]}, indent=2))
        return
    if not plans:
        click.echo("no running instance is on another version")
    for p in plans:
        verdict = "can move" if p.ok else "cannot move: " + "; ".join(p.refusals)
        click.echo(f"instance {p.instance_id}: v{p.from_version} → v{p.to_version}: {verdict}")
        for kind in ("changed", "added", "removed"):
            if getattr(p, kind):
                click.echo(f"    {kind}: {', '.join(getattr(p, kind))}")
    ok = sum(1 for p in plans if p.ok)
    click.echo(f"{ok} of {len(plans)} instance(s) can move")


def _task_option(values) -> dict:
    """``TASK_ID=JSON`` options → {task id: [payload, ...]} (repeat an id for later visits)."""
    out: dict[str, list] = {}
    for value in values:
        task_id, sep, text = value.partition("=")
        if not sep or not task_id.strip():
            raise click.BadParameter(f"{value!r} is not TASK_ID=JSON", param_hint="--task")
        try:
            out.setdefault(task_id.strip(), []).append(json.loads(text))
        except ValueError as exc:
            raise click.BadParameter(f"{task_id}: not JSON ({exc})", param_hint="--task") from None
    return out


@bpmn.command("simulate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--process", "process_id", default=None, help="The process to run (default: the file's only one).")
@click.option("--data", "start_data", default="{}", help="Start data as a JSON object.")
@click.option("--task", "tasks", multiple=True, metavar="TASK_ID=JSON",
              help="Data a user task submits (or a service task returns); repeat an id for its next visits.")
@click.option("--json", "as_json", is_flag=True, help="The whole run as one JSON object.")
@with_appcontext
def simulate_cmd(file, process_id, start_data, tasks, as_json: bool) -> None:
    """Run FILE in memory (no database writes, no signatures) and print the path it takes.

    Call activities resolve to the other diagrams in FILE's directory, business-rule tasks to the
    decision tables there (``<decision id>.dmn``). Exit 0 when the run
    reaches an end event; 1, naming the element, when it is invalid, fails, a script is refused,
    or it stops waiting (for a message)."""

    try:
        data = json.loads(start_data)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON ({exc})", param_hint="--data") from None
    if not isinstance(data, dict):
        raise click.BadParameter("start data must be a JSON object", param_hint="--data")
    chosen = _task_option(tasks)
    path = Path(file)
    siblings = {p.name: Document(p.name, p.read_bytes()) for p in sorted(path.resolve().parent.glob("*.bpmn"))
                if p.resolve() != path.resolve()}
    tables = {p.stem: Document(p.name, p.read_bytes()) for p in sorted(path.resolve().parent.glob("*.dmn"))}
    validation = validate_offline([Document(path.name, path.read_bytes())], known=_by_process(siblings),
                                  known_decisions=tables, max_bytes=_max_bytes())
    if not validation.ok:
        for problem in validation.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    pid = process_id or next(iter(validation.processes))
    if pid not in validation.processes:
        raise click.BadParameter(f"{pid!r} is not in {path.name} ({', '.join(validation.processes)})",
                                 param_hint="--process")
    parsed = validation.processes[pid]
    result = simulate(parsed.spec, parsed.subprocess_specs, start_data=data, task_data=chosen,
                      now=datetime.now(timezone.utc))
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, default=str, ensure_ascii=False))
    else:
        _print_simulation(result)
    sys.exit(0 if result.ok else 1)


def _by_process(documents: dict[str, Document]) -> dict[str, Document]:
    out = {}
    for doc in documents.values():
        try:
            root = xmlsafe.parse(doc.content, doc.file_name)
        except xmlsafe.XmlRefused:
            continue
        for process in root.xpath(".//bpmn:process", namespaces=NS):
            out[process.get("id")] = doc
    return out


def _print_simulation(result) -> None:
    for step in result.path:
        lane = f" [{step.lane}]" if step.lane else ""
        name = f" ({step.name})" if step.name else ""
        click.echo(f"{step.element_id}{name}{lane}")
        if step.note:
            click.echo(f"    {step.note}")
    for timer in result.timers:
        click.echo(f"timer {timer['element_id']}: {timer['value']} due {timer['due']}")
    click.echo("path: " + " → ".join(s.element_id for s in result.path))
    click.echo("data: " + json.dumps(result.data, default=str, sort_keys=True, ensure_ascii=False))
    if result.ok:
        click.echo(f"completed at {result.path[-1].element_id if result.path else '-'}")
    else:
        click.echo(f"{result.status} at {result.error_element or '-'}: {result.error}")
