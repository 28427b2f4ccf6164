"""The station at the line (a tablet, 1024×768 and up): pick a lot by number or GS1 scan, start
an operation behind the live interlocks, record parameters against their limits, inspections and
consumed component lots, finish. An operator sees and records only their own work; production
managers see everyone's. A refused start or consumption names every reason and is recorded.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from engine.errors import InterlockRefused, NotFound, SealtrailError, ValidationFailed
from engine.production import floor, inspection_plans, interlocks, lots, records
from engine.trace.genealogy import get_lot as find_scanned_lot
from engine.users import actor_for, duties, get_user
from web import inspection_plans as texts
from web.db import transaction
from web.authz import blueprint_rule
from web.security import has_role, role_required

bp = Blueprint("station", __name__, url_prefix="/floor")
blueprint_rule(bp, "floor.run")
RUNNERS = duties.RUN_OPERATIONS
MANAGERS = duties.PLAN_LOTS


def _user(s):
    return get_user(s, current_user.id)


def _may_see(ex) -> bool:
    return ex.operator_id == current_user.id or has_role(*MANAGERS)


@bp.get("/")
@role_required(*RUNNERS)
def index():
    scan = (request.args.get("scan") or "").strip()
    with transaction() as s:
        if scan:
            try:
                lot = find_scanned_lot(s, scan)
            except (NotFound, ValidationFailed) as exc:
                flash(exc.message, "error")
            else:
                return redirect(url_for("station.lot", lot_number=lot.lot_number))
        mine = floor.open_executions(s, None if has_role(*MANAGERS) else _user(s))
        return render_template("station/index.html", executions=mine, scan=scan, active_nav="station")


def _lot_page(s, lot_number: str, *, blocking: list[dict] | None = None, status: int = 200):
    lot = lots.get_lot(s, lot_number)
    ops = lot.routing_revision.operations if lot.routing_revision else []
    runs = {}
    for ex in lot.executions:
        runs.setdefault(ex.routing_operation_id, []).append(ex)
    return render_template("station/lot.html", lot=lot, ops=ops, runs=runs, blocking=blocking or [],
                           may_see=_may_see, active_nav="station"), status


@bp.get("/lots/<lot_number>")
@role_required(*RUNNERS)
def lot(lot_number: str):
    with transaction() as s:
        return _lot_page(s, lot_number)


@bp.post("/lots/<lot_number>/operations")
@role_required(*RUNNERS)
def start(lot_number: str):
    """Start an operation as the signed-in operator; a refusal is recorded and every reason shown."""
    form = {k: (request.form.get(k) or "").strip() or None for k in ("operation", "equipment", "tooling")}
    try:
        with transaction() as s:
            ex = floor.start_operation(s, actor_for(_user(s)), lot_number, operation=form["operation"] or "",
                                       operator=current_user.username, equipment=form["equipment"],
                                       tooling=form["tooling"])
            ex_id = ex.id
    except InterlockRefused as exc:
        with transaction() as s:
            interlocks.record_refusal(s, actor_for(_user(s)), lots.get_lot(s, lot_number), "operation.start",
                                      {**form, "operator": current_user.username}, exc.blocking)
        with transaction() as s:
            return _lot_page(s, lot_number, blocking=exc.blocking, status=422)
    except SealtrailError as exc:
        flash(exc.message, "error")
        return redirect(url_for("station.lot", lot_number=lot_number))
    return redirect(url_for("station.execution", execution_id=ex_id))


def _execution(s, execution_id: int):
    ex = floor.get_execution(s, execution_id)
    if not _may_see(ex):
        abort(403)
    return ex


def _run_page(s, ex, *, errors: dict | None = None, blocking: list[dict] | None = None, status: int = 200):
    latest = {}
    for m in records.current_measurements(s, ex.lot):
        if m.execution_id == ex.id:
            latest.setdefault(m.parameter_id, []).append(m)
    plans = {}
    for item_id, plan in inspection_plans.plans_for(s, ex.lot, ex.operation.inspection_items).items():
        if isinstance(plan, SealtrailError):
            plans[item_id] = {"refused": plan.message}
        else:
            data = plan.as_dict()
            plans[item_id] = {"plan": data, "severity": texts.severity_label(plan.severity), "why": texts.why(data),
                              "draw": texts.draw(data)}
    return render_template("station/execution.html", ex=ex, op=ex.operation, latest=latest, errors=errors or {},
                           blocking=blocking or [], bom=ex.lot.bom_revision, plans=plans,
                           active_nav="station"), status


@bp.get("/executions/<int:execution_id>")
@role_required(*RUNNERS)
def execution(execution_id: int):
    with transaction() as s:
        return _run_page(s, _execution(s, execution_id))


def _own(s, execution_id: int):
    ex = _execution(s, execution_id)
    if ex.operator_id != current_user.id:
        abort(403)  # values are recorded by the operator who runs the operation
    return ex


def _number(text: str | None, field: str) -> float:
    try:
        value = float((text or "").strip().replace(",", "."))
    except ValueError:
        raise ValidationFailed(_("Enter a number."), field=field) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValidationFailed(_("Enter a number."), field=field)
    return value


@bp.post("/executions/<int:execution_id>/measurements")
@role_required(*RUNNERS)
def measure(execution_id: int):
    param_id = request.form.get("parameter", type=int)
    try:
        with transaction() as s:
            ex = _own(s, execution_id)
            param = next((p for p in ex.operation.parameters if p.id == param_id), None)
            if param is None:
                abort(404)
            value = _number(request.form.get("value"), f"value-{param.id}")
            row = records.record_measurement(s, actor_for(_user(s)), ex.lot, param, value=value, unit=param.unit,
                                             equipment=ex.equipment, execution=ex)
            in_spec, name = row.in_spec, param.name
            warn = not param.in_control(value)
    except InterlockRefused as exc:
        with transaction() as s:
            return _run_page(s, _execution(s, execution_id), blocking=exc.blocking, status=422)
    except ValidationFailed as exc:
        with transaction() as s:
            return _run_page(s, _execution(s, execution_id), errors={exc.field: exc.message}, status=422)
    if not in_spec:
        flash(_("%(name)s is outside its specification: a deviation may be needed.", name=name), "error")
    elif warn:
        flash(_("%(name)s is outside its control limits.", name=name), "warning")
    else:
        flash(_("%(name)s recorded.", name=name), "success")
    return redirect(url_for("station.execution", execution_id=execution_id, _anchor=f"param-{param_id}"))


@bp.post("/executions/<int:execution_id>/inspections")
@role_required(*RUNNERS)
def inspect(execution_id: int):
    item_id = request.form.get("inspection", type=int)
    try:
        with transaction() as s:
            ex = _own(s, execution_id)
            item = next((i for i in ex.operation.inspection_items if i.id == item_id), None)
            if item is None:
                abort(404)
            measured = request.form.get("measured_value")
            row = records.record_inspection(
                s, actor_for(_user(s)), ex.lot, item, sample_size=int(_number(request.form.get("sample_size"),
                                                                             "sample_size")),
                defects_found=int(_number(request.form.get("defects_found") or "0", "defects_found")),
                measured_value=_number(measured, "measured_value") if (measured or "").strip() else None,
                unit=item.unit, inspector=_user(s), notes=(request.form.get("notes") or "").strip())
            result, name = row.result, item.name
    except ValidationFailed as exc:
        with transaction() as s:
            return _run_page(s, _execution(s, execution_id), errors={f"{exc.field}-{item_id}": exc.message},
                             status=422)
    flash(_("%(name)s: %(result)s.", name=name, result=_("pass") if result == "pass" else _("fail")),
          "success" if result == "pass" else "error")
    return redirect(url_for("station.execution", execution_id=execution_id))


@bp.post("/executions/<int:execution_id>/consumptions")
@role_required(*RUNNERS)
def consume(execution_id: int):
    scanned = (request.form.get("component_lot") or "").strip()
    unit = (request.form.get("unit") or "").strip()
    try:
        with transaction() as s:
            ex = _own(s, execution_id)
            lot_number = ex.lot.lot_number
            comp = find_scanned_lot(s, scanned) if scanned else None
            if comp is None:
                raise ValidationFailed(_("Scan or enter the component lot."), field="component_lot")
            lots.record_consumption(s, actor_for(_user(s)), ex.lot, comp,
                                    quantity=_number(request.form.get("quantity"), "quantity"),
                                    unit=unit or comp.unit)
            number = comp.lot_number
    except InterlockRefused as exc:
        with transaction() as s:
            interlocks.record_refusal(s, actor_for(_user(s)), lots.get_lot(s, lot_number), "lot.consume",
                                      {"component_lot": scanned, "quantity": request.form.get("quantity"),
                                       "unit": unit}, exc.blocking)
        with transaction() as s:
            return _run_page(s, _execution(s, execution_id), blocking=exc.blocking, status=422)
    except (ValidationFailed, NotFound) as exc:
        with transaction() as s:
            return _run_page(s, _execution(s, execution_id), errors={exc.field or "component_lot": exc.message},
                             status=422)
    flash(_("Component lot %(lot)s recorded.", lot=number), "success")
    return redirect(url_for("station.execution", execution_id=execution_id))


@bp.post("/executions/<int:execution_id>/finish")
@role_required(*RUNNERS)
def finish(execution_id: int):
    try:
        with transaction() as s:
            ex = _own(s, execution_id)
            good = request.form.get("quantity_good")
            scrap = request.form.get("quantity_scrap")
            records.finish_operation(s, actor_for(_user(s)), ex,
                                     quantity_good=_number(good, "quantity_good") if (good or "").strip() else None,
                                     quantity_scrap=_number(scrap, "quantity_scrap") if (scrap or "").strip()
                                     else None, notes=(request.form.get("notes") or "").strip())
            lot_number = ex.lot.lot_number
    except SealtrailError as exc:
        with transaction() as s:
            return _run_page(s, _execution(s, execution_id), errors={exc.field or "finish": exc.message},
                             status=exc.status)
    flash(_("Operation finished."), "success")
    return redirect(url_for("station.lot", lot_number=lot_number))
