"""``plan``: compute a production plan (a new draft version), release it with a signature, and
keep the planning parameters (work-centre shifts, a lot's due date and priority)."""
from __future__ import annotations

import datetime as dt
import json
import re

import click
from flask import current_app
from flask.cli import with_appcontext

from audit import SYSTEM
from engine.errors import SealtrailError
from engine.planning import calendars, plans, targets
from engine.production.lots import get_lot
from web.cli.actors import acting_user, actor_of, signed_change

PLANNERS = ("production_manager",)
_DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_SHIFT = re.compile(r"^(?P<d1>[a-z]{3})(?:-(?P<d2>[a-z]{3}))? (?P<h1>\d{2}):(?P<m1>\d{2})-(?P<h2>\d{2}):(?P<m2>\d{2})"
                    r"(?: x(?P<cap>\d{1,3}))?$")


def register(cli: click.Group) -> None:
    cli.add_command(plan_cmd)


def _sessions():
    return current_app.extensions["sealtrail.sessions"]


def _today() -> dt.date:
    clock = current_app.extensions.get("sealtrail.clock")  # tests inject one; default: the server's
    return (clock() if clock else dt.datetime.now(dt.timezone.utc)).date()


@click.group("plan", invoke_without_command=True)
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First day of the horizon (default: today).")
@click.option("--days", type=click.IntRange(1, 92), default=14, show_default=True, help="Length of the horizon.")
@click.option("--timezone", "tz", default="UTC", show_default=True, help="Time zone of the horizon's days (IANA).")
@click.option("--time-limit", type=click.FloatRange(0.1, 120), default=20.0, show_default=True,
              help="Seconds the solver may search.")
@click.option("--dry-run", is_flag=True, help="Compute and print; store no plan version.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.pass_context
@with_appcontext
def plan_cmd(ctx, start, days, tz, time_limit, dry_run, as_json) -> None:
    """Plan the planned lots over a horizon (CP-SAT); stores the plan as a new draft version."""
    if ctx.invoked_subcommand is not None:
        return
    day = start.date() if start else _today()
    try:
        with _sessions().begin() as session:
            if dry_run:
                problem, solution = plans.compute(session, start_day=day, days=days, timezone=tz,
                                                  time_limit=time_limit)
                summary = _dry_summary(problem, solution)
            else:
                plan = plans.create_plan(session, SYSTEM, start_day=day, days=days, timezone=tz,
                                         time_limit=time_limit, reason="sealtrail plan")
                summary = plans.plan_summary(plan)
    except SealtrailError as exc:
        raise click.ClickException(exc.message) from exc
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(_text(summary))


def _dry_summary(problem, solution) -> dict:
    tasks = {(j.lot, t.sequence): t for j in problem.jobs for t in j.tasks}
    start = problem.start
    return {
        "version": None, "state": "not stored", "horizon_start": start.isoformat(),
        "horizon_days": problem.horizon // 1440, "timezone": problem.timezone, "solver_status": solution.status,
        "objective": solution.objective, "best_bound": solution.bound, "gap": solution.gap,
        "wall_seconds": round(solution.wall_seconds, 3), "total_lateness_minutes": sum(solution.lateness.values()),
        "makespan_minutes": solution.makespan, "inputs_sha256": problem.digest(),
        "operations": [{"lot": p.lot, "sequence": p.sequence, "operation": tasks[(p.lot, p.sequence)].code,
                        "work_centre": tasks[(p.lot, p.sequence)].work_centre, "equipment": p.equipment,
                        "operator": p.operator, "starts_at": (start + dt.timedelta(minutes=p.start)).isoformat(),
                        "ends_at": (start + dt.timedelta(minutes=p.end)).isoformat(),
                        "lateness_minutes": solution.lateness.get(p.lot, 0)}
                       for p in sorted(solution.placements, key=lambda p: (p.start, p.lot))],
        "blocked": {lot: [b.as_dict() for b in found] for lot, found in sorted(problem.blocked.items())}
        | {lot: [{"code": "no_room", "field": "horizon", "record": lot,
                  "message": plans.no_room_message(problem, solution, lot)}] for lot in solution.unplaced},
    }


def _text(s: dict) -> str:
    gap = "n/a" if s["gap"] is None else f"{s['gap']:.2%}"
    head = (f"plan {'v' + str(s['version']) if s['version'] else '(not stored)'} [{s['state']}]  "
            f"from {s['horizon_start']} for {s['horizon_days']} days ({s['timezone']})\n"
            f"solver: {s['solver_status']}, gap {gap}, {s['wall_seconds']:.2f} s; "
            f"lateness {s['total_lateness_minutes']} min; makespan {s['makespan_minutes']} min")
    lines = [head, ""]
    lots = sorted({o["lot"] for o in s["operations"]})
    for lot in lots:
        ops = [o for o in s["operations"] if o["lot"] == lot]
        late = ops[-1]["lateness_minutes"]
        lines.append(f"{lot}  placed{'' if not late else f', {late} min late'}")
        for o in ops:
            lines.append(f"  {o['sequence']:>3} {o['operation']:<8} {o['work_centre']:<14} "
                         f"{o['equipment'] or '—':<8} {o['operator'] or '—':<10} "
                         f"{o['starts_at'][:16].replace('T', ' ')} → {o['ends_at'][:16].replace('T', ' ')}")
    for lot, found in s["blocked"].items():
        lines.append(f"{lot}  NOT PLACED")
        lines += [f"  - {b['message']}" for b in found]
    lines.append("")
    lines.append(f"{len(lots)} lot(s) placed, {len(s['blocked'])} not placed")
    return "\n".join(lines)


@plan_cmd.command("release")
@click.argument("version", type=click.IntRange(1, None))
@click.option("--by", required=True, help="The production manager who releases the plan (signs).")
@click.option("--reason", required=True, help="Why this plan is released.")
@with_appcontext
def release_cmd(version: int, by: str, reason: str) -> None:
    """Release plan VERSION (signed with password and authenticator code); supersedes the one in force."""
    def change(session, user):
        plan = plans.release_plan(session, actor_of(user), plans.get_plan(session, version), reason=reason)
        return plan.version, f"v{plan.version}", plans.plan_summary(plan)

    released = signed_change(by, PLANNERS, change, record_type="production_plan", meaning="approved", reason=reason)
    click.echo(f"plan v{released} released by {by}")


def parse_shift(text: str) -> list[calendars.Shift]:
    """``mon-fri 08:00-16:00 x2`` → one Shift per weekday (``24:00`` ends at midnight)."""
    m = _SHIFT.match((text or "").strip().lower())
    if not m or m["d1"] not in _DAYS or (m["d2"] and m["d2"] not in _DAYS):
        raise click.BadParameter(f"{text!r}: write DAY[-DAY] HH:MM-HH:MM [xN], e.g. 'mon-fri 08:00-16:00 x2'",
                                 param_hint="--shift")
    first, last = _DAYS[m["d1"]], _DAYS[m["d2"] or m["d1"]]
    a, b = int(m["h1"]) * 60 + int(m["m1"]), int(m["h2"]) * 60 + int(m["m2"])
    cap = int(m["cap"] or 1)
    return [calendars.Shift(weekday=d, starts_minute=a, ends_minute=b, capacity=cap)
            for d in range(first, last + 1)]


@plan_cmd.command("shifts")
@click.argument("work_centre")
@click.option("--shift", "shifts", multiple=True, required=True, help="'mon-fri 08:00-16:00 x2' (repeatable).")
@click.option("--timezone", "tz", required=True, help="Where the work centre's clock hangs (IANA).")
@click.option("--by", required=True, help="The planner making the change.")
@click.option("--reason", required=True)
@with_appcontext
def shifts_cmd(work_centre: str, shifts: tuple[str, ...], tz: str, by: str, reason: str) -> None:
    """Replace the shifts of WORK_CENTRE."""
    parsed = [s for text in shifts for s in parse_shift(text)]
    try:
        with _sessions().begin() as session:
            user = acting_user(session, by, PLANNERS + ("process_engineer",))
            rows = calendars.set_shifts(session, actor_of(user), work_centre, parsed, timezone=tz, reason=reason)
    except SealtrailError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{work_centre}: {len(rows)} shift(s)")


@plan_cmd.command("target")
@click.argument("lot")
@click.option("--due", type=click.DateTime(["%Y-%m-%d"]), help="Due date (omit to clear).")
@click.option("--priority", type=click.IntRange(1, 5), default=3, show_default=True, help="1 = most urgent.")
@click.option("--by", required=True, help="The planner making the change.")
@click.option("--reason", required=True)
@with_appcontext
def target_cmd(lot: str, due, priority: int, by: str, reason: str) -> None:
    """Set the due date and priority of LOT."""
    try:
        with _sessions().begin() as session:
            user = acting_user(session, by, PLANNERS)
            row = targets.set_lot_target(session, actor_of(user), get_lot(session, lot),
                                         due_on=due.date() if due else None, priority=priority, reason=reason)
            click.echo(f"{row.lot_number}: due {row.due_on or '—'}, priority {row.priority}")
    except SealtrailError as exc:
        raise click.ClickException(exc.message) from exc
