"""Items, equipment and tooling in the browser: create them, and change an item's description, an
equipment's calibration and maintenance plan, a tool's life in cycles — each change with its
reason, audited by the engine (``engine.masterdata.catalog``). These are not revisioned: the
routings and BOMs that use them are, and go through change control.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from engine.errors import SealtrailError, ValidationFailed
from engine.masterdata import catalog
from engine.masterdata.models import ITEM_TYPES, Equipment, Item, Tooling
from engine.users import actor_for, duties, get_user
from web.authz import blueprint_rule
from web.db import transaction
from web.security import role_required

bp = Blueprint("resources", __name__, url_prefix="/resources")
blueprint_rule(bp, "masterdata.edit")
EDITORS = duties.EDIT_MASTER_DATA
MODELS = {"items": Item, "equipment": Equipment, "tooling": Tooling}
TEXT = {"code": 64, "name": 200, "specification": 4000, "base_unit": 32, "equipment_type": 64, "work_centre": 64,
        "manufacturer": 200, "serial_number": 100, "tooling_type": 64, "gtin": 14}
MAX_DAYS = 3650


class Parsed(dict):
    """Field values parsed from a form, with ``errors`` (field → message)."""

    def __init__(self):
        super().__init__()
        self.errors: dict[str, str] = {}

    def text(self, form, name: str, *, required: bool = False) -> None:
        value = (form.get(name) or "").strip()
        if required and not value:
            self.errors[name] = _("This field is required.")
        elif len(value) > TEXT.get(name, 200):
            self.errors[name] = _("At most %(n)s characters.", n=TEXT.get(name, 200))
        self[name] = value

    def whole(self, form, name: str, *, low: int = 1, high: int = 10**9) -> None:
        text = (form.get(name) or "").strip()
        value = None
        if text:
            try:
                value = int(text)
            except ValueError:
                self.errors[name] = _("Enter a whole number.")
            else:
                if not low <= value <= high:
                    self.errors[name] = _("Enter a whole number from %(low)s to %(high)s.", low=low, high=high)
        self[name] = value

    def day(self, form, name: str) -> None:
        text = (form.get(name) or "").strip()
        value = None
        if text:
            try:
                value = dt.date.fromisoformat(text)
            except ValueError:
                self.errors[name] = _("Enter a date (YYYY-MM-DD).")
        self[name] = value

    def flag(self, form, name: str) -> None:
        self[name] = form.get(name) == "on"

    def check(self) -> None:
        if self.errors:
            field = next(iter(self.errors))
            raise ValidationFailed(self.errors[field], field=field)


def _fields(kind: str, form, *, creating: bool) -> Parsed:
    p = Parsed()
    if creating:
        p.text(form, "code", required=True)
    p.text(form, "name", required=True)
    if kind == "items":
        p.text(form, "specification")
        p.flag(form, "purchased")
        p.text(form, "gtin")
        p.flag(form, "serialised")
        if creating:
            p.text(form, "base_unit", required=True)
            p["item_type"] = form.get("item_type") or ""
        else:
            p.flag(form, "active")
    elif kind == "equipment":
        for name in ("equipment_type", "work_centre", "manufacturer", "serial_number"):
            p.text(form, name)
        p.flag(form, "calibration_required")
        p.whole(form, "calibration_interval_days", high=MAX_DAYS)
        p.whole(form, "maintenance_interval_days", high=MAX_DAYS)
        p.day(form, "last_calibrated_on")
        p.day(form, "last_maintained_on")
    else:
        p.text(form, "tooling_type")
        p.whole(form, "life_cycles", high=10**9)
    return p


def _page(s, kind: str, *, values=None, errors=None, status: int = 200):
    model = MODELS[kind]
    rows = list(s.scalars(select(model).order_by(model.code)))
    return render_template("resources/index.html", kind=kind, rows=rows, item_types=ITEM_TYPES,
                           values=values or {}, errors=errors or {}, today=dt.date.today(),
                           active_nav="masterdata"), status


@bp.get("/")
@role_required(*EDITORS)
def index():
    kind = request.args.get("kind") if request.args.get("kind") in MODELS else "items"
    with transaction() as s:
        return _page(s, kind)[0]


def _create(s, actor, kind: str, p: Parsed):
    if kind == "items":
        return catalog.create_item(s, actor, code=p["code"], name=p["name"], item_type=p["item_type"],
                                   base_unit=p["base_unit"], purchased=p["purchased"],
                                   specification=p["specification"], gtin=p["gtin"] or None,
                                   serialised=p["serialised"])
    if kind == "equipment":
        return catalog.create_equipment(s, actor, **p)
    return catalog.create_tooling(s, actor, code=p["code"], name=p["name"], tooling_type=p["tooling_type"],
                                  life_cycles=p["life_cycles"])


@role_required(*EDITORS)
def create(kind: str):
    p = _fields(kind, request.form, creating=True)
    try:
        p.check()
        with transaction() as s:
            code = _create(s, actor_for(get_user(s, current_user.id)), kind, p).code
    except SealtrailError as exc:
        with transaction() as s:
            return _page(s, kind, values={"new": dict(request.form)},
                         errors={"new": p.errors or {exc.field or "code": exc.message}}, status=exc.status)
    flash(_("%(code)s created.", code=code), "success")
    return redirect(url_for("resources.show", kind=kind, code=code))


def _get(s, kind: str, code: str):
    found = s.scalar(select(MODELS[kind]).where(MODELS[kind].code == code))
    if found is None:
        abort(404)
    return found


def _edit_page(s, kind: str, obj, *, values=None, errors=None, status: int = 200):
    return render_template("resources/show.html", kind=kind, obj=obj, values=values or {}, errors=errors or {},
                           today=dt.date.today(), active_nav="masterdata"), status


@role_required(*EDITORS)
def show(kind: str, code: str):
    with transaction() as s:
        return _edit_page(s, kind, _get(s, kind, code))[0]


@role_required(*EDITORS)
def update(kind: str, code: str):
    p = _fields(kind, request.form, creating=False)
    reason = (request.form.get("reason") or "").strip()[:2000]
    if not reason:
        p.errors["reason"] = _("Give the reason for the change.")
    try:
        p.check()
        with transaction() as s:
            obj, actor = _get(s, kind, code), actor_for(get_user(s, current_user.id))
            change = {"items": catalog.update_item, "equipment": catalog.update_equipment,
                      "tooling": catalog.update_tooling}[kind]
            change(s, actor, obj, reason=reason, **p)
    except SealtrailError as exc:
        with transaction() as s:
            return _edit_page(s, kind, _get(s, kind, code), values=dict(request.form),
                              errors=p.errors or {exc.field or "reason": exc.message}, status=exc.status)
    flash(_("%(code)s changed.", code=code), "success")
    return redirect(url_for("resources.show", kind=kind, code=code))


# One rule per kind (an unknown kind is simply no route): /resources/items, /resources/items/<code>, …
for _kind in MODELS:
    bp.add_url_rule(f"/{_kind}", "create", create, methods=["POST"], defaults={"kind": _kind})
    bp.add_url_rule(f"/{_kind}/<code>", "show", show, methods=["GET"], defaults={"kind": _kind})
    bp.add_url_rule(f"/{_kind}/<code>", "update", update, methods=["POST"], defaults={"kind": _kind})
