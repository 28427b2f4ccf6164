"""Scripts run in worker processes under OS limits: one long C call cannot block or bloat the app."""
from __future__ import annotations

import threading

import pytest

from engine.errors import WorkflowFailed
from engine.sandbox import pool
from engine.workflows import Document, complete_task, deploy, open_tasks, start_instance
from engine.workflows.script_env import SafeEnvironment, ScriptLimitExceeded, evaluate_expression
from engine.workflows.specs import validate
from tests.engine.conftest import BPMN_DIR, World

# A C-level quadratic concatenation: no Python line runs inside sum(), so no trace budget sees it.
HOSTILE_TIMER = "'PT1H' if len(sum([[0]*1000]*4000, [])) else 'PT2H'"
# Allocation tricks that passed the size checks and put ~200 MB (or more) into the server.
ALLOCATIONS = [
    "'a'.encode() * 200000000",
    "'a'.encode().center(200000000)",
    "(1).to_bytes(200000000, 'big')",
    "('a' * 1000).translate({97: 'b' * 1000000})",
]


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


@pytest.mark.timeout(60)
def test_hostile_timer_is_killed_while_the_app_keeps_answering():
    outcome = {}

    def hostile():
        try:
            SafeEnvironment().evaluate(HOSTILE_TIMER, {})
        except ScriptLimitExceeded as exc:
            outcome["error"] = str(exc)

    runner = threading.Thread(target=hostile)
    runner.start()
    # While the hostile script burns a worker, this thread (the app) answers a script of its own.
    assert evaluate_expression("'PT%dH' % 2", {}) == "PT2H"
    still_running = runner.is_alive()
    runner.join(timeout=30)
    assert still_running, "the ordinary evaluation had to wait for the hostile one"
    assert not runner.is_alive()
    assert outcome["error"].startswith("script exceeded its limits")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("expression", ALLOCATIONS)
def test_allocation_tricks_are_refused_without_the_app_growing(expression):
    before = _rss_mb()
    with pytest.raises(ScriptLimitExceeded, match="script exceeded its limits"):
        SafeEnvironment().evaluate(f"len({expression})", {})
    with pytest.raises(ScriptLimitExceeded, match="script exceeded its limits"):
        SafeEnvironment().execute(f"y = {expression}", {"x": 1})
    assert _rss_mb() - before < 50


@pytest.mark.timeout(60)
@pytest.mark.parametrize("expression", [HOSTILE_TIMER, *ALLOCATIONS[:3]])
def test_hostile_timer_is_reported_at_validation(expression):
    text = (BPMN_DIR / "timers.bpmn").read_text().replace('>"PT1H"<', f">{expression}<")
    found = validate([Document("bad.bpmn", text.encode())]).problems
    assert len(found) == 1 and found[0].element_id == "overdue"
    assert "script exceeded its limits" in found[0].reason


@pytest.mark.timeout(60)
def test_script_task_over_its_limits_fails_the_completion_clearly(fresh_db):
    text = (BPMN_DIR / "approval.bpmn").read_text().replace(
        'risk = "high" if amount &gt; 100 else "low"', "risk = len(sum([[0]*1000]*4000, []))")
    with fresh_db.sessions.begin() as session:
        world = World(session)
        for name in ("alice", "quinn", "quentin"):
            world.user(name)
        deploy(session, world.actor("alice"), [Document("approval.bpmn", text.encode())])
        instance = start_instance(session, world.actor("alice"), "t_approval")
        task_id = open_tasks(session, instance.id)[0].id
    with pytest.raises(WorkflowFailed, match="script exceeded its limits"):
        with fresh_db.sessions.begin() as session:
            complete_task(session, task_id=task_id, data={"number": "CR-9", "amount": 500, "reason": "sandbox limit test"},
                          **world.signing("alice"))


def _raw(source: str, mode: str = "eval"):
    """A code object that skips the policy: what an escape would run, to test the OS limits alone."""
    return compile(source, "<bpmn-script>", mode)


@pytest.mark.timeout(60)
def test_the_worker_address_space_limit_holds_without_the_guards():
    before = _rss_mb()
    with pytest.raises(pool.LimitExceeded, match="script exceeded its limits"):
        pool.run_code(_raw("len([0] * (100 * 1024 * 1024))"), "eval", {})
    assert _rss_mb() - before < 50
    assert pool.run_code(_raw("1 + 1"), "eval", {}) == 2  # a fresh worker took over


@pytest.mark.timeout(60)
def test_a_long_c_call_is_killed_by_the_wall_clock_and_the_worker_replaced():
    with pytest.raises(pool.LimitExceeded, match="script exceeded its limits"):
        pool.run_code(_raw("sum(range(10 ** 12))"), "eval", {})
    assert pool.run_code(_raw("x * 2"), "eval", {"x": 21}) == 42


def test_task_data_keeps_its_types_across_the_boundary():
    import datetime as dt
    from decimal import Decimal

    data = {"when": dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.timezone.utc), "day": dt.date(2026, 11, 26),
            "wait": dt.timedelta(days=2), "price": Decimal("1.10"), "pair": (1, 2), "tags": {"a"},
            "by_lot": {7: "L-7"}, "_private": "kept out"}
    env = SafeEnvironment()
    env.execute("later = when + wait\nfirst = pair[0]\nname = by_lot[7]", data)
    assert data["later"] == dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.timezone.utc)
    assert data["first"] == 1 and data["name"] == "L-7" and data["pair"] == (1, 2)
    assert data["tags"] == {"a"} and data["price"] == Decimal("1.10") and data["_private"] == "kept out"


def test_helpers_called_by_a_script_run_in_the_app():
    calls = []

    def lot_status(lot):
        calls.append(lot)
        return {"lot": lot, "status": "released"}

    assert evaluate_expression("lot_status('L-1')['status']", {}, helpers={"lot_status": lot_status}) == "released"
    assert calls == ["L-1"]
