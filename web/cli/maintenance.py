"""``maintenance forecast``: drift, change points and forecast limit crossings per equipment, with the
backtest on the recorded history (lead before the first out-of-spec value, false alarms)."""
from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from audit import SYSTEM
from engine.maintenance import forecast as forecasting
from engine.maintenance.requests import raise_requests


def register(cli: click.Group) -> None:
    cli.add_command(maintenance_cmd)


@click.group("maintenance")
def maintenance_cmd() -> None:
    """Predictive maintenance from the measurements taken on each piece of equipment."""


@maintenance_cmd.command("forecast")
@click.option("--lead-days", type=click.FloatRange(1, 180), default=forecasting.LEAD_DAYS, show_default=True,
              help="Alarm when the forecast reaches a specification limit within this many days.")
@click.option("--json", "as_json", is_flag=True, help="Print the forecast and the backtest as JSON.")
@click.option("--raise", "raise_tasks", is_flag=True,
              help="Start a maintenance request (an inbox task) for each alarm without an open one.")
@with_appcontext
def forecast_cmd(lead_days: float, as_json: bool, raise_tasks: bool) -> None:
    """Forecast per equipment and parameter; backtest of the alarm on the recorded history."""
    started = []
    with current_app.extensions["sealtrail.sessions"].begin() as session:
        found = forecasting.forecast(session, lead_days=lead_days)
        tests = forecasting.backtests(session, lead_days=lead_days)
        if raise_tasks:
            started = [(i.id, i.business_key) for i in raise_requests(session, SYSTEM, found)]
    years = sum(t.years for t in tests)
    false = sum(t.false_alarms for t in tests)
    if as_json:
        click.echo(json.dumps({"lead_days": lead_days, "forecasts": [f.as_dict() for f in found],
                               "requests_started": [{"instance": i, "business_key": k} for i, k in started],
                               "backtest": [t.as_dict() for t in tests],
                               "false_alarms_per_equipment_year": round(false / years, 2) if years else None},
                              ensure_ascii=False, indent=2))
        return
    for f in found:
        d = f.as_dict()
        line = f"{d['status'].upper():11} {d['equipment']:<8} {d['parameter']:<28} last {d['last_value']:g} {d['unit']}"
        if f.drift is not None and f.status != "ok":
            line += f", trend {d['slope_per_day']:+.3g} {d['unit']}/day"
            if d.get("change_point_at"):
                line += f" since {d['change_point_at'][:10]}"
            for name in ("control", "spec"):
                c = d.get(f"{name}_crossing")
                if c and c["at"] and c["at"][:10] <= d["last_at"][:10]:
                    line += f"; beyond its {name} limit {c['limit']:g}"
                elif c and c["at"]:
                    line += (f"; reaches {name} limit {c['limit']:g} on {c['at'][:10]} "
                             f"(90 % band {c['earliest'][:10] if c['earliest'] else '?'} … "
                             f"{c['latest'][:10] if c['latest'] else 'later'})")
        click.echo(line)
    click.echo("")
    click.echo(f"backtest (alarm when the forecast reaches a specification limit within {lead_days:g} days):")
    for t in tests:
        if t.first_out_of_spec is None and not t.false_alarms:
            continue
        if t.lead_days is not None:
            click.echo(f"  {t.equipment} {t.parameter}: alarm on {t.first_alarm:%Y-%m-%d}, {t.lead_days:.1f} days "
                       f"before the first out-of-spec value ({t.first_out_of_spec:%Y-%m-%d})")
        elif t.first_out_of_spec is not None:
            click.echo(f"  {t.equipment} {t.parameter}: out of spec on {t.first_out_of_spec:%Y-%m-%d} "
                       "with no alarm before it")
        if t.false_alarms:
            click.echo(f"  {t.equipment} {t.parameter}: {t.false_alarms} false alarm(s)")
    for instance_id, key in started:
        click.echo(f"maintenance request started for {key}: process instance {instance_id}")
    click.echo(f"  false alarms: {false} over {years:.2f} equipment-parameter-years"
               f" = {false / years if years else 0:.2f} per year, across {len(tests)} series")
