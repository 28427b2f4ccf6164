"""Decision-table evaluation cost: the whole table in one script-worker round trip vs cell by cell.

    .venv/bin/python bench/dmn_evaluate.py [--repeat 200] [--rules 60] [--report rows.jsonl]

For the shipped ``bpmn/deviation_class.dmn`` and a generated complete table of N rules, prints
milliseconds per evaluation for ``DecisionEngine.outcome`` (one round trip: inputs, every rule's
cells, the matched outputs) beside the baseline measured in the same run: SpiffWorkflow's own
``DMNEngine.result`` on the same restricted script engine, which evaluates each cell (and the input
again with it) in its own round trip. CPU and pipes only, no database.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.dmn_verify import table as generated_table  # noqa: E402
from engine.schema import load_models  # noqa: E402
from engine.workflows import xmlsafe  # noqa: E402
from engine.workflows.decisions import Parser  # noqa: E402
from engine.workflows.script_env import SafeScriptEngine  # noqa: E402


class _CellByCell(DMNEngine):
    """SpiffWorkflow's engine, with ``x in (…)`` spaced from its input (it glues them otherwise)."""

    def evaluate(self, input_expr, match_expr, task):
        if match_expr is None or "?" in match_expr:
            return super().evaluate(input_expr, match_expr, task)
        engine = task.workflow.script_engine
        if self.needs_eq(engine, match_expr):
            return engine.evaluate(task, f"({input_expr}) == ({match_expr})")
        return engine.evaluate(task, f"({input_expr}) {match_expr}")


def _engine(text: bytes, decision_id: str):
    parser = Parser()
    parser.add_dmn_xml(xmlsafe.parse(text, f"{decision_id}.dmn", max_bytes=len(text)), f"{decision_id}.dmn")
    return parser.get_engine(decision_id, None)


def _time(fn, repeat: int) -> float:
    fn()  # warm the worker and the policy cache
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1000


def run(name: str, text: bytes, decision_id: str, data: dict, repeat: int) -> tuple[float, float]:
    engine = _engine(text, decision_id)
    task = SimpleNamespace(data=data, workflow=SimpleNamespace(script_engine=SafeScriptEngine()))
    baseline = _CellByCell(engine.decision_table)
    assert baseline.result(task) == engine.outcome(task).outputs
    ours = _time(lambda: engine.outcome(task), repeat)
    base = _time(lambda: baseline.result(task), repeat)
    print(f"{name:38} one round trip {ours:7.2f} ms   cell by cell (baseline) {base:7.2f} ms   "
          f"x{base / ours:5.1f}")
    return ours, base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--rules", type=int, nargs="+", default=[60])
    parser.add_argument("--report", help="append the result row (JSON lines) to this file")
    args = parser.parse_args()
    load_models()
    shipped = (ROOT / "bpmn" / "deviation_class.dmn").read_bytes()
    ours, base = run("deviation_class (7 rules, last matches)", shipped, "deviation_class",
                     {"severity": 4, "patient_safety_impact": True, "product_risk_class": "III"}, args.repeat)
    if args.report:
        row = {"benchmark": "dmn", "figure": f"{ours:.2f} ms per deviation-class decision",
               "baseline": f"{base:.2f} ms cell by cell", "ratio": ours / base, "goal": "one round trip: < cell by cell",
               "met": ours < base, "note": "bpmn/deviation_class.dmn, the whole table in one script-worker round trip"}
        with open(args.report, "a") as fh:
            fh.write(json.dumps(row) + "\n")
    for n in args.rules:
        text, rules = generated_table(n, "FIRST")
        run(f"generated FIRST, {rules} rules x 3 inputs", text.encode(), "big",
            {"n": 10 * (rules // 6) - 1, "f": False, "c": "Z"}, max(args.repeat // 10, 5))


if __name__ == "__main__":
    main()
