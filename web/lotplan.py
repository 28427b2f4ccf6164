"""Planning a line's lots: plan a lot of a product or made item, start it (the master data in
effect is pinned), complete it with the quantity made. Production managers only (rule
``floor.lots``, the same as the MES API's lot routes); each step is audited by the engine.
"""
from __future__ import annotations

import math

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from engine.errors import SealtrailError, ValidationFailed
from engine.masterdata.models import Bom, Item, Product
from engine.masterdata.revisions import effective_revision
from engine.production import floor, lots
from engine.production.models import Lot
from engine.users import actor_for, duties, get_user
from web.authz import blueprint_rule
from web.db import transaction
from web.security import role_required

bp = Blueprint("lotplan", __name__, url_prefix="/lots/plan")
blueprint_rule(bp, "floor.lots")
PLANNERS = duties.PLAN_LOTS
MAX_QUANTITY = 1e9


def _makeable(s) -> list[tuple[str, str, str]]:
    """(kind, code, label) of what a lot can be planned for: products with an effective revision, made items."""
    out = [("product", p.code, f"{p.code} · {p.name}") for p in s.scalars(select(Product).order_by(Product.code))
           if effective_revision(s, p) is not None]
    made = s.scalars(select(Item).join(Bom, Bom.item_id == Item.id)
                     .where(Item.purchased.is_(False), Item.item_type != "finished_good").order_by(Item.code))
    return out + [("item", i.code, f"{i.code} · {i.name}") for i in made]


def _page(s, *, values: dict | None = None, errors: dict | None = None, status: int = 200):
    open_lots = list(s.scalars(select(Lot).where(Lot.source == "made", Lot.status.in_(("planned", "in_process")))
                               .order_by(Lot.created_at.desc(), Lot.id.desc()).limit(200)))
    return render_template("lots/plan.html", makeable=_makeable(s), lots=open_lots, values=values or {},
                           errors=errors or {}, active_nav="lots"), status


@bp.get("/")
@role_required(*PLANNERS)
def index():
    with transaction() as s:
        return _page(s)[0]


def _quantity(text: str | None, field: str) -> float:
    try:
        value = float((text or "").strip().replace(",", "."))
    except ValueError:
        raise ValidationFailed(_("Enter a number."), field=field) from None
    if not math.isfinite(value) or value < 0 or value > MAX_QUANTITY:
        raise ValidationFailed(_("Enter a quantity between 0 and 1,000,000,000."), field=field)
    return value


@bp.post("/")
@role_required(*PLANNERS)
def plan():
    form = request.form
    kind, _sep, code = (form.get("what") or "").partition(":")
    number = (form.get("lot_number") or "").strip()
    try:
        if kind not in ("product", "item") or not code:
            raise ValidationFailed(_("Choose what the lot makes."), field="what")
        quantity = _quantity(form.get("quantity"), "quantity")
        if quantity <= 0:
            raise ValidationFailed(_("The quantity must be greater than zero."), field="quantity")
        with transaction() as s:
            lot = floor.plan(s, actor_for(get_user(s, current_user.id)), lot_number=number, quantity=quantity,
                             **{kind: code})
            number = lot.lot_number
    except SealtrailError as exc:
        with transaction() as s:
            return _page(s, values=dict(form), errors={exc.field or "lot_number": exc.message}, status=exc.status)
    flash(_("Lot %(lot)s planned.", lot=number), "success")
    return redirect(url_for("lotplan.index", _anchor=f"lot-{number}"))


@bp.post("/<lot_number>/start")
@role_required(*PLANNERS)
def start(lot_number: str):
    try:
        with transaction() as s:
            lots.start_lot(s, actor_for(get_user(s, current_user.id)), lots.get_lot(s, lot_number))
    except SealtrailError as exc:
        flash(exc.message, "error")
        return redirect(url_for("lotplan.index"))
    flash(_("Lot %(lot)s started: the master data in effect is pinned to it.", lot=lot_number), "success")
    return redirect(url_for("lotplan.index", _anchor=f"lot-{lot_number}"))


@bp.post("/<lot_number>/complete")
@role_required(*PLANNERS)
def complete(lot_number: str):
    try:
        made = _quantity(request.form.get("quantity_made"), "quantity_made")
        with transaction() as s:
            lots.complete_lot(s, actor_for(get_user(s, current_user.id)), lots.get_lot(s, lot_number),
                              quantity_made=made)
    except SealtrailError as exc:
        flash(f"{lot_number}: {exc.message}", "error")
        return redirect(url_for("lotplan.index", _anchor=f"lot-{lot_number}"))
    flash(_("Lot %(lot)s completed: it awaits batch release.", lot=lot_number), "success")
    return redirect(url_for("lots.show", lot_number=lot_number))
