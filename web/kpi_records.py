"""The records behind a KPI figure: which figure a request names, and where each record lives.

The dashboard shows a figure's population as a count; the count links to this list, each record
to its page (a lot's DHR, a lot's measurements, a process instance, a task).
"""
from __future__ import annotations

import re

from flask import url_for
from flask_babel import lazy_gettext as _l

# Sections of the report whose figures carry records; keyed sections (deviations by category…)
# hold one figure per key.
SECTIONS = ("production", "data_integrity", "quality", "overdue_tasks_by_role", "plant")
# Plant figures whose records are lot numbers (each links to the lot's DHR).
_PLANT_LOT_FIGURES = ("plan_achievement", "release_lead_time_days", "wip_by_work_centre")
LABELS = {
    "batch_pass_rate": _l("Batch pass rate"), "first_pass_yield": _l("First-pass yield"),
    "rework_rate": _l("Rework rate"), "scrap_rate": _l("Scrap rate"), "record_completeness": _l("Record completeness"),
    "entry_delay_median_minutes": _l("Event to entry, median"), "entry_delay_p95_minutes": _l("Event to entry, 95th percentile"),
    "back_entries": _l("Back-entries (> 24 h)"), "corrections_per_record": _l("Corrections per record"),
    "right_first_time": _l("Right first time"), "signature_latency_hours": _l("Signature latency, median"),
    "change_lead_time_days": _l("Change-control lead time, median"), "capa_on_time_closure": _l("CAPA closed on time"),
    "deviations_by_category": _l("Deviations by category"), "deviations_by_operation": _l("Deviations by operation"),
    "plan_achievement": _l("Plan achievement (completed by the planned end)"),
    "release_lead_time_days": _l("Release lead time, median"), "training_pass_rate": _l("Training pass rate"),
    "overdue_training": _l("Overdue training (operator, SOP revision)"),
    "audit_review_findings": _l("Audit-review findings"), "calibration_on_time": _l("Calibrations on time"),
    "wip_by_work_centre": _l("Work in process by work centre"),
    "takt_minutes_by_work_centre": _l("Takt by work centre"), "tooling_life_consumed": _l("Tooling life consumed"),
}
_MEASUREMENT = re.compile(r"^(?P<lot>[^#]{1,64})#m\d+$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def find_figure(report: dict, section: str, name: str, key: str = "") -> dict | None:
    """The figure ``section.name`` (``section.name[key]`` for keyed figures), None when unknown."""
    block = report.get(section) if section in SECTIONS else None
    figure = block.get(name) if isinstance(block, dict) else None
    if key and isinstance(figure, dict) and "records" not in figure:
        figure = figure.get(key)
    return figure if isinstance(figure, dict) and "records" in figure else None


def label(name: str) -> str:
    """A figure's name in the user's language."""
    known = LABELS.get(name)
    return str(known) if known is not None else name.replace("_", " ")


def record_link(section: str, record, name: str = "") -> str | None:
    """Where one record of a figure is shown, or None (an inspection result has no page of its own)."""
    text = str(record)
    if section == "plant":
        return url_for("trace.dhr", lot=text) if name in _PLANT_LOT_FIGURES else None
    if (m := _MEASUREMENT.match(text)) is not None:
        return url_for("lots.show", lot_number=m["lot"], _anchor="measurements")
    if section == "production":
        return url_for("trace.dhr", lot=text)
    if _UUID.match(text):
        return url_for("tasks.show", task_id=text)
    if section == "quality":
        return url_for("instances.index", q=text)
    return None
