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
from audit.errors import SignatureError
from engine.errors import SealtrailError
from engine.governance.dictionary import build_dictionary
from engine.governance.dictionary_text import to_markdown
from engine.governance import profile_revisions
from engine.governance.profile_revisions import released_profile
from engine.governance.sharing import create_share
from engine.processes.profile_changes import route_profile
from engine.masterdata import sampling
from engine.users import duties
from web.admin import render_dictionary_document
from web.cli.actors import acting_user, actor_of, cli_signing_policy, read_credentials, signed_change
from web.db import signing_transaction


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
@with_appcontext
def share_profiles() -> None:
    """List the released sharing profiles (revision, SHA-256) and any open draft."""
    with current_app.extensions["sealtrail.sessions"]() as session:
        for name in profile_revisions.all_names(session):
            released = profile_revisions.find_released(session, name)
            draft = profile_revisions.open_revision(session, name)
            if released is not None:
                profile = released_profile(session, name)
                click.echo(f"{name} rev {profile.revision}  ({', '.join('--' + s for s in profile.selectors)})  "
                           f"{profile.title}  sha256 {profile.sha256[:16]}…")
            else:
                click.echo(f"{name}  (not released)")
            if draft is not None:
                click.echo(f"    rev {draft.revision} {draft.status.replace('_', ' ')}"
                           + (f" under {draft.change_ref}" if draft.change_ref and draft.status == "in_review" else ""))


@share_group.command("profile-draft")
@click.argument("name")
@click.option("--file", "path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The profile's TOML text (see `share profile-show NAME` for the released one).")
@click.option("--reason", required=True, help="Why the profile changes (recorded in the audit trail).")
@click.option("--by", "by", required=True, help="The person editing the draft (username).")
@with_appcontext
def share_profile_draft(name: str, path: Path, reason: str, by: str) -> None:
    """Save NAME's draft (a new one, or change the open one); released revisions never change."""
    if path.stat().st_size > profile_revisions.MAX_CONTENT_CHARS * 4:
        raise click.ClickException("--file: too large for a sharing profile")
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise click.ClickException("--file: not UTF-8 text") from exc
    try:
        with current_app.extensions["sealtrail.sessions"].begin() as session:
            user = acting_user(session, by, duties.EDIT_SHARE_PROFILES)
            rev = profile_revisions.save_draft(session, actor_of(user), name, content, reason=reason)
            summary = (rev.describe(), rev.sha256)
            changes = profile_revisions.table_changes(session, rev)
    except SealtrailError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{summary[0]} saved as draft (sha256 {summary[1][:16]}…); against the released revision:")
    for line in changes:
        click.echo(f"  {line}")


@share_group.command("profile-show")
@click.argument("name")
@click.option("--diff", "as_diff", is_flag=True, help="The open draft's differences from the released revision.")
@with_appcontext
def share_profile_show(name: str, as_diff: bool) -> None:
    """Print NAME's released TOML text, or with --diff the open draft against it."""
    with current_app.extensions["sealtrail.sessions"]() as session:
        if as_diff:
            draft = profile_revisions.open_revision(session, name)
            if draft is None:
                raise click.ClickException(f"sharing profile {name} has no open draft")
            click.echo("\n".join(profile_revisions.text_diff(session, draft)) or "(no difference)")
            return
        released = profile_revisions.find_released(session, name)
        if released is None:
            raise click.ClickException(f"sharing profile {name} has no released revision")
        click.echo(released.content, nl=False)


@share_group.command("profile-submit")
@click.argument("name")
@click.option("--comment", required=True, help="What changes for the recipients and why (the change request's text).")
@click.option("--by", "by", required=True, help="The proposer (username); signs the change request's submission "
              "with password and authenticator code, prompted or read as two lines from stdin.")
@with_appcontext
def share_profile_submit(name: str, comment: str, by: str) -> None:
    """Open a change request to release NAME's draft; it is released when the change is implemented."""
    sessions = current_app.extensions["sealtrail.sessions"]
    policy = cli_signing_policy()
    with sessions() as session:
        acting_user(session, by, duties.PROPOSE_CHANGES)
    credentials = read_credentials(by)
    try:
        with signing_transaction(sessions, policy) as session:
            user = acting_user(session, by, duties.PROPOSE_CHANGES)
            number = route_profile(session, user, name, comment=comment, password=credentials.password,
                                   totp_code=credentials.totp_code, policy=policy).number
    except SignatureError as exc:
        raise click.ClickException(f"not changed: {exc}") from exc
    except SealtrailError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"change request {number} opened: sharing profile {name}'s draft is released when the change "
               "is implemented")


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
    if recipient_key.stat().st_size > 4096:
        raise click.ClickException("--recipient-key: the file is too large for an age public key")
    recipient = next((ln.strip() for ln in recipient_key.read_text(encoding="utf-8").splitlines()
                      if ln.strip().startswith("age1")), "")
    settings = current_app.extensions["sealtrail.settings"]
    clock = current_app.extensions.get("sealtrail.clock") or (lambda: dt.datetime.now(dt.timezone.utc))

    def make(session, user):
        profile = released_profile(session, profile_name)  # the released revision, never a draft
        installation = find_installation(session)
        package = create_share(session, actor_of(user), profile, chosen[0], recipient_key=recipient, reason=reason,
                               signing_key=signing_key_for(session, settings.checkpoint_key_path), now=clock(),
                               installation_id=installation.installation_id if installation else "")
        record = {k: package.manifest[k] for k in ("package_id", "profile", "profile_revision", "selector",
                                                   "recipient")}
        record["payload_sha256"] = package.manifest["payload"]["sha256"]
        return package, package.package_id, record

    package = signed_change(by, duties.SHARE_RECORDS, make, record_type="share_package", reason=reason)
    output.write_bytes(package.data)
    counts = ", ".join(f"{n} {t}" for t, n in package.record_counts.items() if n)
    click.echo(f"package {package.package_id} ({package.manifest['profile']} rev "
               f"{package.manifest['profile_revision']}) written to {output}: {counts or 'no records'}")
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
