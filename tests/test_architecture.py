"""The shape of the house, checked: no import loops (function-level imports included), no import
hidden in a function without a comment saying why, no module loaded by name outside the two
registries that must. The layer contracts themselves are `lint-imports` (pyproject.toml), run by
.ci/run."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

# grimp comes with import-linter (the dev extra): `make env` after pulling installs it.
grimp = pytest.importorskip("grimp", reason="import-linter is not installed: run `make env`")
ROOT = Path(__file__).resolve().parent.parent
OURS = ("web", "engine", "audit", "forms")
# Modules that import others by name on purpose (each says why in a comment).
LOADS_BY_NAME = {"engine/workflows/operations.py", "engine/schema.py"}


def _sources():
    for package in OURS:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in rel:
                yield rel, path.read_text(encoding="utf-8")


def _loops(graph) -> list[list[str]]:
    """Strongly connected sets of more than one module (Tarjan, iterative)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index, low, stack, on_stack, loops, counter = {}, {}, [], set(), [], 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            if i < len(edges[node]):
                work.append((node, i + 1))
                child = edges[node][i]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                members = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                if len(members) > 1:
                    loops.append(sorted(members))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return loops


def test_no_import_loop_among_our_modules():
    # grimp reads every import statement, those inside functions too.
    graph = grimp.build_graph(*OURS)
    assert _loops(graph) == []


def test_the_loop_finder_finds_a_loop():
    graph = grimp.ImportGraph()
    for name in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(name)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    graph.add_import(importer="a.z", imported="a.x")
    assert _loops(graph) == [["a.x", "a.y"]]


def _justified(lines: list[str], node) -> bool:
    """A comment on the import, or on the lines just above it (through a run of imports/try)."""
    if any("#" in line for line in lines[node.lineno - 1:node.end_lineno]):
        return True
    row = node.lineno - 2
    while row >= 0:
        text = lines[row].strip()
        if text.startswith("#") or (text.startswith("try:") and "#" in text):
            return True
        if not (text.startswith(("from ", "import ")) or text == "try:"):
            return False
        row -= 1
    return False


def test_function_level_imports_say_why():
    unexplained = []
    for rel, text in _sources():
        lines = text.splitlines()
        for function in ast.walk(ast.parse(text)):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and not _justified(lines, node):
                    unexplained.append(f"{rel}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert unexplained == [], "move these imports to the top, or say in a comment why they wait:\n" + "\n".join(
        unexplained)


def test_modules_are_loaded_by_name_only_by_the_registries():
    found = sorted(rel for rel, text in _sources()
                   if ("import_module(" in text or "__import__(" in text) and rel not in LOADS_BY_NAME)
    assert found == []


def test_engine_and_audit_never_open_commit_or_roll_back_a_transaction():
    """The caller (a view, a command, the worker) owns the unit of work; engine/ and audit/ flush."""
    words = ("commit(", "rollback(", ".begin(")
    found = [f"{rel}:{number}: {line.strip()}"
             for rel, text in _sources() if rel.startswith(("engine/", "audit/"))
             for number, line in enumerate(text.splitlines(), start=1) if any(w in line for w in words)]
    assert found == []
