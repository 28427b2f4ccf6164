"""The script policy refuses every escape in the catalogue before anything runs; budgets hold."""
from __future__ import annotations

import pytest

from engine.workflows import script_policy
from engine.workflows.script_env import SafeEnvironment, ScriptLimitExceeded
from engine.workflows.script_policy import ScriptPolicyError

# (source, words the error must contain). Refused statically: nothing of it may run.
STATIC = [
    ("__import__('os')", "'__import__' is not allowed"),
    ("import os", "import is not allowed"),
    ("from os import system", "import is not allowed"),
    ("().__class__.__bases__[0].__subclasses__()", "'__subclasses__' is not allowed"),
    ("().__class__.__base__.__subclasses__()", "names starting with '_'"),
    ("[c for c in ().__class__.__mro__]", "'__mro__' is not allowed"),
    ("open('/etc/passwd')", "'open' is not allowed"),
    ("exec('x = 1')", "'exec' is not allowed"),
    ("eval('1 + 1')", "'eval' is not allowed"),
    ("compile('1', 'f', 'eval')", "'compile' is not allowed"),
    ("getattr(x, 'real')", "'getattr' is not allowed"),
    ("globals()", "'globals' is not allowed"),
    ("vars()", "'vars' is not allowed"),
    ("type(x)", "'type' is not allowed"),
    ("breakpoint()", "'breakpoint' is not allowed"),
    ("'{0.__class__}'.format(x)", "attribute 'format' is not allowed"),
    ("(lambda: 1).__globals__", "'__globals__' is not allowed"),
    ("x.gi_frame", "attribute 'gi_frame' is not allowed"),
    ("def f():\n    pass", "defining functions is not allowed"),
    ("class A:\n    pass", "defining classes is not allowed"),
    ("try:\n    y = 1\nexcept Exception:\n    pass", "try/except is not allowed"),
    ("with x:\n    pass", "with is not allowed"),
    ("global x", "global is not allowed"),
    ("f'{x:>999999999}'", "format width"),
    ("y = [*range(3)]", "unpacking is not allowed"),
    ("b'bytes'", "bytes literals"),
    ("x.real = 5", "assigning to attribute"),
]

# Refused at run time by the size, step or time budgets, before the damage is done.
RUNTIME = [
    ("y = 9**9**9", "integer limit"),
    ("y = 2 ** 100000", "integer limit"),
    ("y = 1 << 100000", "integer limit"),
    ("y = 'a' * 10**9", "exceeds"),
    ("y = [0] * 10**8", "exceeds"),
    ("while True:\n    pass", "budget"),
    ("n = 0\nwhile n >= 0:\n    n += 1", "budget"),
    ("y = [i for i in range(10**9)]", "range of"),
    ("s = 'a' * 1000\nfor i in range(100):\n    s = s + s", "concatenation"),
    ("s = 'a' * 1000\nfor i in range(100):\n    s += s", "concatenation"),
    ("l = ['a' * 100000] * 100000\ny = ''.join(l)", "join result"),
    ("y = ('a' * 10000).replace('', 'b' * 10000)", "replace result"),
    ("y = 'a'.ljust(10**9)", "width"),
    ("l = [1] * 1000\nfor i in range(40):\n    l.extend(l)", "extend result"),
    ("big = list(range(100000))\nl = []\nfor i in range(1000):\n    l.append(big[:])", "allocated"),
    ("y = [[0] * 100000 for i in range(100000)]", "allocated"),
    ("s = 'a' * 1000000\nl = [s] * 100000\ny = str(l)", "would exceed"),
    ("s = 'a' * 1000000\nl = [s] * 100000\ny = f'{l}'", "would exceed"),
    ("x = 2\nfor i in range(100):\n    x = x * x", "integer limit"),
]


@pytest.mark.parametrize("source,words", STATIC, ids=[s for s, _ in STATIC])
def test_escape_is_refused_statically_and_nothing_runs(source, words):
    with pytest.raises(ScriptPolicyError) as err:
        script_policy.check_script("marker = 1\n" + source)
    assert words in str(err.value)
    data = {"x": 1}
    with pytest.raises(ScriptPolicyError):
        SafeEnvironment().execute("marker = 1\n" + source, data)
    assert data == {"x": 1}  # the harmless first line never ran either


@pytest.mark.parametrize("source,words", RUNTIME, ids=[s for s, _ in RUNTIME])
def test_resource_attack_is_stopped_by_the_budget(source, words):
    data = {"x": 1}
    with pytest.raises(ScriptLimitExceeded) as err:
        SafeEnvironment().execute(source, data)
    assert words in str(err.value)


def test_policy_error_names_the_line():
    with pytest.raises(ScriptPolicyError) as err:
        script_policy.check_script("a = 1\nb = 2\nc = open('x')")
    assert err.value.line == 3 and "line 3" in str(err.value)


def test_ordinary_scripts_and_conditions_work():
    env = SafeEnvironment()
    data = {"amount": 250, "items": [3, 1, 2], "text": "a,b", "lab": {"passed": True}}
    env.execute("risk = 'high' if amount > 100 else 'low'\n"
                "total = sum(items) * 2\nordered = sorted(items)\nsquares = [i ** 2 for i in items]\n"
                "parts = text.split(',')\njoined = '-'.join(parts)\nlabel = f'{amount:>6}'\n"
                "n = 0\nwhile n < 10:\n    n += 1\n", data)
    assert data["risk"] == "high" and data["total"] == 12 and data["ordered"] == [1, 2, 3]
    assert data["squares"] == [9, 1, 4] and data["joined"] == "a-b" and data["label"] == "   250"
    assert data["n"] == 10
    assert env.evaluate("lab.get('passed') == True and len(items) == 3", data) is True
    assert not any(k.startswith("_") for k in data)  # our rewrite helpers never leak into task data


def test_expression_results_and_script_data_are_size_limited(monkeypatch):
    from engine.workflows import script_env

    monkeypatch.setattr(script_env, "MAX_DATA_BYTES", 1000)
    with pytest.raises(ScriptLimitExceeded, match="budget"):
        SafeEnvironment().execute("y = 'a' * 5000", {})


def test_timer_expressions_go_through_the_policy():
    with pytest.raises(ScriptPolicyError):
        script_policy.check_expression("__import__('os').system('true')")
    assert SafeEnvironment().evaluate('"PT1H"', {}) == "PT1H"
