"""Administration pages under /admin/: the generated data dictionary (issue #18)."""
from __future__ import annotations

import json

from flask import Blueprint, Response, abort, current_app, render_template, request

from engine.governance.dictionary import build_dictionary
from engine.governance.dictionary_text import to_markdown
from web.authz import blueprint_rule
from web.db import transaction

bp = Blueprint("admin", __name__, url_prefix="/admin")
blueprint_rule(bp, "data_dictionary")

_MAX_QUERY = 100


def render_dictionary_document(dictionary) -> str:
    """The dictionary as one standalone HTML document (the CLI's --format html, the page's download)."""
    template = current_app.jinja_env.get_template("admin/dictionary_document.html")
    return template.render(dictionary=dictionary)


def _filtered(dictionary, query: str, personal_only: bool):
    tables = []
    for table in dictionary.tables:
        columns = [c for c in table.columns
                   if (not query or query in table.name or query in c.name or query in c.meaning.lower())
                   and (not personal_only or c.personal)]
        if columns:
            tables.append((table, columns))
    return tables


@bp.get("/data-dictionary/")
def data_dictionary():
    query = (request.args.get("q") or "").strip().lower()[:_MAX_QUERY]
    personal_only = request.args.get("personal") == "1"
    with transaction() as s:
        dictionary = build_dictionary(s.connection())
    return render_template("admin/dictionary.html", dictionary=dictionary, query=query,
                           personal_only=personal_only, tables=_filtered(dictionary, query, personal_only),
                           columns=sum(len(t.columns) for t in dictionary.tables), active_nav="admin")


@bp.get("/data-dictionary/export.<fmt>")
def data_dictionary_export(fmt: str):
    if fmt not in ("md", "json", "html"):
        abort(404)
    with transaction() as s:
        dictionary = build_dictionary(s.connection())
    if fmt == "md":
        body, mimetype = to_markdown(dictionary), "text/markdown"
    elif fmt == "json":
        body, mimetype = json.dumps(dictionary.as_dict(), ensure_ascii=False, indent=2), "application/json"
    else:
        body, mimetype = render_dictionary_document(dictionary), "text/html"
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="sealtrail-data-dictionary.{fmt}"'})
