"""``data-dictionary``: the generated data dictionary from the command line (issue #18)."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from engine.governance.dictionary import build_dictionary
from engine.governance.dictionary_text import to_markdown
from web.admin import render_dictionary_document


def register(cli: click.Group) -> None:
    cli.add_command(data_dictionary_cmd)


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
