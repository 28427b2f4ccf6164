"""Delegations (#18): a person delegates some of their roles to someone else for a while (signed,
meaning approved) and revokes a delegation early (signed); administrators may do so for anyone.
The rules are engine.delegations.acting's (create_delegation, revoke_delegation,
check_may_sign_for); the CLI ``sealtrail delegations`` does the same from the command line."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from audit.errors import SignatureError
from audit.signatures import sign
from engine.delegations.acting import (MAX_DAYS, check_may_sign_for, create_delegation, delegations_of,
                                       revoke_delegation)
from engine.delegations.models import Delegation
from engine.errors import SealtrailError, ValidationFailed
from engine.users import get_user
from engine.users.accounts import actor_for, list_users
from engine.workflows.models import ProcessVersion
from web.auth import needs_password, signature_error_text, signing_policy
from web.authz import blueprint_rule
from web.db import sessions, signing_transaction, transaction
from web.i18n import meaning_label, utc_dt

bp = Blueprint("delegations", __name__, url_prefix="/delegations")
blueprint_rule(bp, "delegations")
MEANING = "approved"
MAX_PROCESSES = 20


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _sign_box(s, sign_id: str, label: str, error: str | None) -> dict:
    return {"id": sign_id, "meaning_label": meaning_label(MEANING), "printed_name": current_user.printed_name,
            "username": current_user.username, "needs_password": needs_password(s), "error": error,
            "open": bool(error), "now_utc": utc_dt(_now()), "record": None, "submit_label": label}


def _page(form: dict | None = None, *, error: str | None = None, sign_error: str | None = None,
          revoke_error: tuple[int, str] | None = None, status: int = 200):
    with transaction() as s:
        me = get_user(s, current_user.id)
        is_admin = "admin" in me.roles
        people = [u for u in list_users(s, include_inactive=False) if u.id != me.id or is_admin]
        processes = sorted(s.scalars(select(ProcessVersion.process_id).distinct()))
        rows = delegations_of(s, me)
        now = _now()
        states = {d.id: "revoked" if d.revoked_at else "ended" if _aware(d.valid_until) <= now
                  else "running" if _aware(d.valid_from) <= now else "planned" for d in rows}
        return render_template(
            "delegations/index.html", rows=rows, people=people, processes=processes, is_admin=is_admin,
            my_roles=sorted(r for r in me.roles if r != "admin"), form=form or {}, error=error, now=now,
            states=states,
            max_days=MAX_DAYS, sign=_sign_box(s, "sign-delegation", _("Sign and delegate"), sign_error),
            revoke_sign=_sign_box(s, "sign-revoke", _("Sign and revoke"),
                                  revoke_error[1] if revoke_error else None),
            revoke_id=revoke_error[0] if revoke_error else None, active_nav="inbox"), status


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)  # SQLite returns naive datetimes


def _day(text: str, field: str) -> dt.datetime:
    try:
        day = dt.date.fromisoformat((text or "").strip()[:10])
    except ValueError:
        raise ValidationFailed(_("Give the date as YYYY-MM-DD."), field=field) from None
    return dt.datetime.combine(day, dt.time(), dt.timezone.utc)


@bp.get("/")
def index():
    return _page()


@bp.post("/")
def create():
    """Create a delegation under the signed-in person's signature."""
    form = {k: (request.form.get(k) or "").strip()[:2000] for k in ("delegator", "delegate", "valid_from",
                                                                    "valid_until", "reason")}
    form["roles"] = [r[:40] for r in request.form.getlist("roles")][:10]
    form["processes"] = [p[:200] for p in request.form.getlist("processes") if p][:MAX_PROCESSES]
    try:
        with signing_transaction(sessions(), signing_policy()) as s:
            me = get_user(s, current_user.id)
            delegator = get_user(s, int(form["delegator"])) if form["delegator"].isdigit() else me
            if not form["delegate"].isdigit():
                raise ValidationFailed(_("Choose who acts for you."), field="delegate")
            delegate = get_user(s, int(form["delegate"]))
            check_may_sign_for(me, delegator)
            start = _day(form["valid_from"], "valid_from")
            end = _day(form["valid_until"], "valid_until") + dt.timedelta(days=1)  # the last day included
            row = create_delegation(s, actor_for(me), delegator=delegator, delegate=delegate, roles=form["roles"],
                                    process_ids=form["processes"], valid_from=start, valid_until=end,
                                    reason=form["reason"], now=_now())
            record = {"delegation_id": row.id, "delegator": delegator.username, "delegate": delegate.username,
                      "roles": row.roles, "process_ids": row.process_ids, "valid_from": start.isoformat(),
                      "valid_until": end.isoformat(), "reason": row.reason}
            sign(s, me, password=request.form.get("password") or None,
                 totp_code=(request.form.get("totp_code") or "").strip(), meaning=MEANING,
                 record_type="delegation", record_id=str(row.id), record=record, policy=signing_policy(),
                 signing_session_id=session.get("signing_session_id"), comment=row.reason)
            names = (delegate.printed_name, delegator.printed_name)
    except SignatureError as exc:
        return _page(form, sign_error=signature_error_text(exc), status=422)
    except SealtrailError as exc:
        return _page(form, error=exc.message, status=exc.status)
    flash(_("Delegated: %(delegate)s acts for %(delegator)s.", delegate=names[0], delegator=names[1]), "success")
    return redirect(url_for("delegations.index"))


@bp.post("/<int:delegation_id>/revoke")
def revoke(delegation_id: int):
    """End a delegation now, under the signed-in person's signature."""
    reason = (request.form.get("reason") or "").strip()[:500]
    try:
        with signing_transaction(sessions(), signing_policy()) as s:
            row = s.get(Delegation, delegation_id)
            if row is None:
                abort(404)
            me = get_user(s, current_user.id)
            check_may_sign_for(me, row.delegator)
            revoke_delegation(s, actor_for(me), row, reason=reason, now=_now())
            sign(s, me, password=request.form.get("password") or None,
                 totp_code=(request.form.get("totp_code") or "").strip(), meaning=MEANING,
                 record_type="delegation", record_id=str(row.id),
                 record={"delegation_id": row.id, "revoked_at": row.revoked_at.isoformat(), "reason": reason},
                 policy=signing_policy(), signing_session_id=session.get("signing_session_id"), comment=reason)
    except SignatureError as exc:
        return _page(revoke_error=(delegation_id, signature_error_text(exc)), status=422)
    except SealtrailError as exc:
        return _page(error=exc.message, status=exc.status)
    flash(_("Delegation %(id)s revoked.", id=delegation_id), "success")
    return redirect(url_for("delegations.index"))
