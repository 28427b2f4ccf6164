"""Training records (ISO 13485 §6.2): record who was trained on which document revision, by whom,
how, with what result and score; the latest records. The shop-floor interlock uses them.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from engine.errors import SealtrailError, ValidationFailed
from engine.masterdata.models import Document, DocumentRevision
from engine.production import floor
from engine.users import actor_for, duties, get_user
from engine.users.models import TRAINING_METHODS, TrainingRecord, User
from web.authz import blueprint_rule
from web.db import transaction
from web.security import role_required

bp = Blueprint("competence", __name__, url_prefix="/training")
blueprint_rule(bp, "training.record")


def _page(s, *, values: dict | None = None, errors: dict | None = None, status: int = 200):
    users = list(s.scalars(select(User).where(User.active.is_(True)).order_by(User.username)))
    revisions = list(s.scalars(select(DocumentRevision).join(Document)
                               .where(DocumentRevision.state.in_(("released", "in_review")))
                               .order_by(Document.code, DocumentRevision.label)))
    recent = list(s.scalars(select(TrainingRecord).order_by(TrainingRecord.recorded_at.desc(),
                                                            TrainingRecord.id.desc()).limit(50)))
    return render_template("competence/index.html", users=users, revisions=revisions, recent=recent,
                           methods=TRAINING_METHODS, values=values or {}, errors=errors or {},
                           today=dt.date.today(), active_nav="competence"), status


@bp.get("/")
@role_required(*duties.RECORD_TRAINING)
def index():
    with transaction() as s:
        return _page(s, values={"user": request.args.get("user", "")})


def _score(text: str | None) -> float | None:
    text = (text or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValidationFailed(_("Enter the score as a number from 0 to 100."), field="score") from None


@bp.post("/")
@role_required(*duties.RECORD_TRAINING)
def record():
    form = request.form
    document, _sep, label = (form.get("revision") or "").partition("/")
    try:
        day = dt.date.fromisoformat((form.get("trained_on") or "").strip())
    except ValueError:
        with transaction() as s:
            return _page(s, values=dict(form), errors={"trained_on": _("Enter the date of the training.")},
                         status=422)
    try:
        with transaction() as s:
            me = get_user(s, current_user.id)
            floor.train(s, actor_for(me), user=form.get("user") or "", document=document, revision=label,
                        trained_on=day, trainer=(form.get("trainer") or "").strip(),
                        method=form.get("method") or "classroom", result=form.get("result") or "pass",
                        score=_score(form.get("score")), notes=(form.get("notes") or "").strip(), recorded_by=me)
    except SealtrailError as exc:
        with transaction() as s:
            return _page(s, values=dict(form), errors={exc.field or "user": exc.message}, status=exc.status)
    flash(_("Training recorded."), "success")
    return redirect(url_for("competence.index"))
