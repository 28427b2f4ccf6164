"""``data-dictionary`` and ``share``: the data dictionary and sharing packages from the command line (#18)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from audit.chain import find_installation
from audit.checkpoints import signing_key_for
from engine.errors import SealtrailError
from engine.governance.dictionary import build_dictionary
from engine.governance.dictionary_text import to_markdown
from engine.governance.profiles import get_profile, profile_names
from engine.governance.sharing import create_share
from engine.masterdata import sampling
from engine.users import duties
from web.admin import render_dictionary_document
from web.cli.actors import actor_of, signed_change


def register(cli: click.Group) -> None:
    cli.add_command(data_dictionary_cmd)
    cli.add_command(share_group)
    cli.add_command(sampling_plan_cmd)


@click.command("data-dictionary")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "json"]), default="md", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write to this file (default: standard output).")
@with_appcontext
def data_dictionary_cmd(fmt: str, output: Path | None) -> None:
    """Every table and column of the schema, compared with the database (drift is reported).

    Exit status 1 when the database differs from the models or a column has no description."""
    sessions = current_app.extensions["sealtrail.sessions"]
    with sessions() as session:
        dictionary = build_dictionary(session.connection())
        session.rollback()
    if fmt == "md":
        text = to_markdown(dictionary)
    elif fmt == "json":
        text = json.dumps(dictionary.as_dict(), ensure_ascii=False, indent=2)
    else:
        text = render_dictionary_document(dictionary)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)
    columns = sum(len(t.columns) for t in dictionary.tables)
    click.echo(f"{len(dictionary.tables)} tables, {columns} columns, {len(dictionary.undocumented)} without a "
               f"description, {len(dictionary.drift)} drift finding(s)", err=True)
    if dictionary.drift or dictionary.undocumented:
        raise SystemExit(1)


@click.group("share")
def share_group() -> None:
    """Sharing packages: masked, encrypted, signed records for suppliers and notified bodies."""


@share_group.command("profiles")
def share_profiles() -> None:
    """List the sharing profiles and what selects their records."""
    for name in profile_names():
        profile = get_profile(name)
        click.echo(f"{name}  ({', '.join('--' + s for s in profile.selectors)})  {profile.title}")


@share_group.command("create")
@click.option("--profile", "profile_name", required=True, help="supplier, notified-body, … (`share profiles`).")
@click.option("--lot", help="The lot whose records are shared (supplier: their purchased lot).")
@click.option("--change", "change", help="A change request number (CR-…).")
@click.option("--period", help="YYYY-MM-DD..YYYY-MM-DD (both days included).")
@click.option("--recipient-key", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="File with the recipient's age public key (age1…).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the package (.zip).")
@click.option("--reason", required=True, help="Why the records are shared (recorded in the audit trail).")
@click.option("--by", "by", required=True, help="The person sharing (username); signs with password and "
              "authenticator code, prompted or read as two lines from stdin.")
@with_appcontext
def share_create(profile_name: str, lot: str | None, change: str | None, period: str | None,
                 recipient_key: Path, output: Path, reason: str, by: str) -> None:
    """Build a package of the records PROFILE allows, masked, encrypted to the recipient, signed."""
    chosen = [(k, v) for k, v in (("lot", lot), ("change", change), ("period", period)) if v]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --lot, --change, --period")
    try:
        profile = get_profile(profile_name)
    except SealtrailError as exc:
        raise click.ClickException(exc.message) from exc
    if recipient_key.stat().st_size > 4096:
        raise click.ClickException("--recipient-key: the file is too large for an age public key")
    recipient = next((ln.strip() for ln in recipient_key.read_text(encoding="utf-8").splitlines()
                      if ln.strip().startswith("age1")), "")
    settings = current_app.extensions["sealtrail.settings"]
    clock = current_app.extensions.get("sealtrail.clock") or (lambda: dt.datetime.now(dt.timezone.utc))

    def make(session, user):
        installation = find_installation(session)
        package = create_share(session, actor_of(user), profile, chosen[0], recipient_key=recipient, reason=reason,
                               signing_key=signing_key_for(session, settings.checkpoint_key_path), now=clock(),
                               installation_id=installation.installation_id if installation else "")
        record = {k: package.manifest[k] for k in ("package_id", "profile", "selector", "recipient")}
        record["payload_sha256"] = package.manifest["payload"]["sha256"]
        return package, package.package_id, record

    package = signed_change(by, duties.SHARE_RECORDS, make, record_type="share_package", reason=reason)
    output.write_bytes(package.data)
    counts = ", ".join(f"{n} {t}" for t, n in package.record_counts.items() if n)
    click.echo(f"package {package.package_id} ({profile.name}) written to {output}: {counts or 'no records'}")
    click.echo(f"signed by {package.manifest['signer']['key_id']}; the recipient opens it with "
               f"python -m audit.verify_share {output.name} --identity THEIR-KEY-FILE")


@click.command("sampling-plan")
@click.option("--lot-size", type=click.IntRange(min=2), required=True, help="Units in the lot.")
@click.option("--level", type=click.Choice(sampling.levels()), default="II", show_default=True,
              help="ISO 2859-1 inspection level.")
@click.option("--aql", type=float, required=True, help="Acceptance quality limit, % nonconforming (e.g. 1.0).")
@click.option("--severity", type=click.Choice(sampling.SEVERITIES), default="normal", show_default=True)
def sampling_plan_cmd(lot_size: int, level: str, aql: float, severity: str) -> None:
    """The ISO 2859-1 single sampling plan for a lot: code letter, sample size, Ac and Re."""
    try:
        plan = sampling.sampling_plan(lot_size, level, aql, severity)
    except SealtrailError as exc:
        raise click.ClickException(exc.message) from exc
    arrow = f" (the table points to the plan of code letter {plan.plan_letter})" if plan.plan_letter != plan.code_letter else ""
    click.echo(f"lot of {plan.lot_size}, level {level}, AQL {aql:g}, {severity}: code letter {plan.code_letter}{arrow}; "
               f"inspect {plan.sample_size} unit(s){' (every unit)' if plan.full_inspection else ''}; "
               f"accept with {plan.accept} or fewer nonconforming (Ac {plan.accept}), reject with {plan.reject} (Re)")
