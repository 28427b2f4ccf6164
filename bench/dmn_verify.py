"""Decision-table verification cost: a complete UNIQUE (and FIRST) table of N rules over three
inputs (integer bands × boolean × string), validated the way ``sealtrail bpmn validate`` does.

    .venv/bin/python bench/dmn_verify.py [--rules 60 300 600]

Prints milliseconds per validation (overlap check of every rule pair, gap search by box
subtraction, FIRST reachability) and the same for the shipped ``bpmn/deviation_class.dmn``
with its test sheet. CPU only, no database.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from engine.schema import load_models
from engine.workflows.specs import Document, validate

ROOT = Path(__file__).resolve().parents[1]


def table(n_rules: int, hit: str) -> tuple[str, int]:
    """A complete, non-overlapping table of about ``n_rules`` rules."""
    rows, rid, bands = [], 0, max(n_rules // 6, 2)
    for b in range(bands):
        lo, hi = b * 10, b * 10 + 9
        sev = f"{lo} &lt;= ? &lt;= {hi}" if 0 < b < bands - 1 else (f"&lt;= {hi}" if b == 0 else f"&gt;= {lo}")
        for flag in ("True", "False"):
            for cls in ('"A"', '"B"', 'not in ("A", "B")'):
                rid += 1
                rows.append(f'<rule id="r{rid}"><inputEntry id="r{rid}a"><text>{sev}</text></inputEntry>'
                            f'<inputEntry id="r{rid}b"><text>{flag}</text></inputEntry>'
                            f'<inputEntry id="r{rid}c"><text>{cls}</text></inputEntry>'
                            f'<outputEntry id="r{rid}o"><text>"x"</text></outputEntry></rule>')
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x">
<decision id="big" name="big"><decisionTable id="t" hitPolicy="{hit}">
<input id="i1" label="n"><inputExpression id="e1" typeRef="integer"><text>n</text></inputExpression></input>
<input id="i2" label="f"><inputExpression id="e2" typeRef="boolean"><text>f</text></inputExpression></input>
<input id="i3" label="c"><inputExpression id="e3" typeRef="string"><text>c</text></inputExpression></input>
<output id="o" name="out" typeRef="string"/>
{"".join(rows)}</decisionTable></decision></definitions>''', rid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, nargs="+", default=[60, 300, 600])
    args = parser.parse_args()
    load_models()
    for n in args.rules:
        for hit in ("UNIQUE", "FIRST"):
            text, rules = table(n, hit)
            start = time.perf_counter()
            result = validate([Document("big.dmn", text.encode())])
            elapsed = time.perf_counter() - start
            print(f"{hit:6} {rules:5} rules x 3 inputs: {elapsed * 1000:8.0f} ms  findings={len(result.problems)}")
    shipped = (ROOT / "bpmn" / "deviation_class.dmn").read_bytes()
    start = time.perf_counter()
    for _ in range(20):
        assert validate([Document("deviation_class.dmn", shipped)]).ok
    print(f"shipped deviation_class.dmn (7 rules, 7 tests): {(time.perf_counter() - start) / 20 * 1000:.1f} ms")


if __name__ == "__main__":
    main()
