"""Which Alembic revision added each table and column, read from the migration scripts.

The scripts are read, not run: ``op.create_table("t", sa.Column("c", …))``, ``op.add_column("t",
sa.Column("c", …))`` and ``batch_op.add_column(sa.Column("c", …))`` inside ``with
op.batch_alter_table("t")`` in each revision's ``upgrade()``. Revisions are visited from the base
up, so the first revision that creates a column is the one named.
"""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

from alembic.script import ScriptDirectory

from engine.migrate import alembic_config


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _column_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "Column" and node.args:
            return _literal(node.args[0])
    return None


class _Upgrade(ast.NodeVisitor):
    def __init__(self) -> None:
        self.batch: list[str] = []
        self.found: list[tuple[str, str | None]] = []  # (table, column or None for the table)

    def visit_With(self, node: ast.With) -> None:
        tables = []
        for item in node.items:
            call = item.context_expr
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "batch_alter_table" and call.args):
                tables.append(_literal(call.args[0]))
        self.batch.extend(t for t in tables if t)
        self.generic_visit(node)
        del self.batch[len(self.batch) - len([t for t in tables if t]):]

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "create_table" and node.args:
            table = _literal(node.args[0])
            if table:
                self.found.append((table, None))
                self.found += [(table, c) for c in map(_column_name, node.args[1:]) if c]
        elif isinstance(func, ast.Attribute) and func.attr == "add_column":
            on_op = isinstance(func.value, ast.Name) and func.value.id == "op"
            if on_op and len(node.args) >= 2 and _literal(node.args[0]):
                column = _column_name(node.args[1])
                if column:
                    self.found.append((_literal(node.args[0]), column))
            elif not on_op and self.batch and node.args:
                column = _column_name(node.args[0])
                if column:
                    self.found.append((self.batch[-1], column))
        self.generic_visit(node)


def _added_by(path: str) -> list[tuple[str, str | None]]:
    tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=path)
    visitor = _Upgrade()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "upgrade":
            visitor.visit(node)
    return visitor.found


@lru_cache(maxsize=1)
def added_in() -> dict[tuple[str, str | None], str]:
    """(table, column) → the revision that added it; (table, None) → the revision that created the table."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    out: dict[tuple[str, str | None], str] = {}
    for revision in reversed(list(script.walk_revisions())):
        for key in _added_by(revision.path):
            out.setdefault(key, revision.revision)
    return out
