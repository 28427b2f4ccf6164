"""Notification pages: the administrator's (webhooks, directory group → role mapping, the
outbox, a test message) and each person's own preference (issue #22)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from engine.db import utcnow
from engine.errors import SealtrailError
from engine.notifications import channels, outbox
from engine.notifications.delivery import outbox_counts
from engine.notifications.messages import WORDING, Item, render
from engine.notifications.models import MODES, WEBHOOK_KINDS, Notification, WebhookChannel
from engine.users import actor_for, get_user, get_user_by_name
from engine.users.directory import group_mappings, map_group, unmap_group
from engine.users.models import LOCALES, ROLES
from web.authz import blueprint_rule, rule
from web.db import settings, transaction

bp = Blueprint("notifications", __name__)
blueprint_rule(bp, "notifications.admin")

_ROLE_CHOICES = [SelectChoice(r) for r in ROLES]


class WebhookForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=channels.NAME_MAX)])
    kind = SelectField(_l("Service"), choices=[SelectChoice(k) for k in WEBHOOK_KINDS])
    url = StringField(_l("Webhook URL"), validators=[DataRequired(), Length(max=channels.URL_MAX)])
    role = SelectField(_l("Lane (role)"), choices=[SelectChoice("", "—")] + _ROLE_CHOICES)
    work_centre = StringField(_l("or work centre"), validators=[Optional(), Length(max=64)])
    locale = SelectField(_l("Language"), choices=[SelectChoice("zh_CN", "中文"), SelectChoice("en", "English")])
    secret = PasswordField(_l("DingTalk signing secret"), validators=[Optional(), Length(max=200)])


class GroupForm(FlaskForm):
    group_dn = StringField(_l("Directory group (LDAP DN or OpenID Connect group)"), validators=[DataRequired(), Length(max=500)])
    role = SelectField(_l("Role"), choices=_ROLE_CHOICES)


class ReasonedForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


class TestSendForm(FlaskForm):
    username = StringField(_l("User name"), validators=[Optional(), Length(max=64)])
    webhook = SelectField(_l("or webhook"), coerce=int, choices=[], validate_choice=False)


class PreferenceForm(FlaskForm):
    mode = SelectField(_l("Tell me"), choices=[SelectChoice("immediate", _l("at once")),
                                               SelectChoice("digest", _l("in a daily digest")),
                                               SelectChoice("escalations", _l("only about escalations"))])
    digest_hour = IntegerField(_l("Digest hour (your time zone)"), validators=[NumberRange(0, 23)], default=8)


def _page(webhook_form=None, group_form=None, test_form=None, status=200):
    with transaction() as s:
        hooks = channels.list_webhooks(s)
        rows = list(s.scalars(select(Notification).where(Notification.status.in_(("pending", "failed")))
                              .order_by(Notification.id.desc()).limit(50)))
        context = dict(counts=outbox_counts(s), rows=rows, hooks=hooks, groups=group_mappings(s))
    test_form = test_form or TestSendForm()
    test_form.webhook.choices = [SelectChoice(0, "—")] + [SelectChoice(h.id, h.name) for h in hooks]
    previews = {loc: render([Item("task_ready", "Approve change", settings().public_url + "/tasks/…")], loc)
                for loc in LOCALES}
    return render_template("notifications/admin.html", webhook_form=webhook_form or WebhookForm(),
                           group_form=group_form or GroupForm(), test_form=test_form, reason_form=ReasonedForm(),
                           previews=previews, kinds=sorted(WORDING), smtp_url=settings().smtp_url,
                           url_host=channels.url_host, active_nav="notifications", **context), status


@bp.get("/admin/notifications/")
def admin_index():
    return _page()


def _refused(exc: SealtrailError, form) -> None:
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = list(field.errors) + [exc.message]
    else:
        flash(exc.message, "error")


@bp.post("/admin/notifications/webhooks")
def add_webhook():
    form = WebhookForm()
    if not form.validate_on_submit():
        return _page(webhook_form=form, status=422)
    try:
        with transaction() as s:
            channels.add_webhook(s, actor_for(get_user(s, current_user.id)), name=form.name.data.strip(),
                                 kind=form.kind.data, url=form.url.data.strip(), role=form.role.data or None,
                                 work_centre=form.work_centre.data, locale=form.locale.data,
                                 secret=form.secret.data or None)
    except SealtrailError as exc:
        _refused(exc, form)
        return _page(webhook_form=form, status=422)
    flash(_("Webhook %(name)s added.", name=form.name.data.strip()), "success")
    return redirect(url_for("notifications.admin_index"))


@bp.post("/admin/notifications/webhooks/<int:hook_id>/switch")
def switch_webhook(hook_id: int):
    form = ReasonedForm()
    if not form.validate_on_submit():
        flash(_("A reason is required."), "error")
        return redirect(url_for("notifications.admin_index"))
    try:
        with transaction() as s:
            hook = s.get(WebhookChannel, hook_id)
            if hook is None:
                return _page(status=404)
            channels.set_webhook_active(s, actor_for(get_user(s, current_user.id)), hook.name, not hook.active,
                                        reason=form.reason.data)
    except SealtrailError as exc:
        flash(exc.message, "error")
    return redirect(url_for("notifications.admin_index"))


@bp.post("/admin/notifications/groups")
def add_group():
    form = GroupForm()
    if not form.validate_on_submit():
        return _page(group_form=form, status=422)
    try:
        with transaction() as s:
            map_group(s, actor_for(get_user(s, current_user.id)), form.group_dn.data, form.role.data)
    except SealtrailError as exc:
        _refused(exc, form)
        return _page(group_form=form, status=422)
    flash(_("Members of %(group)s get %(role)s at their next sign-in.", group=form.group_dn.data.strip().lower(),
            role=form.role.data), "success")
    return redirect(url_for("notifications.admin_index"))


@bp.post("/admin/notifications/groups/unmap")
def remove_group():
    form = ReasonedForm()
    group_form = GroupForm()
    if not form.validate_on_submit() or not group_form.group_dn.data:
        flash(_("A reason is required."), "error")
        return redirect(url_for("notifications.admin_index"))
    try:
        with transaction() as s:
            unmap_group(s, actor_for(get_user(s, current_user.id)), group_form.group_dn.data, group_form.role.data,
                        reason=form.reason.data)
    except SealtrailError as exc:
        flash(exc.message, "error")
    return redirect(url_for("notifications.admin_index"))


@bp.post("/admin/notifications/test")
def test_send():
    form = TestSendForm()
    if not form.validate_on_submit() or not (form.username.data or form.webhook.data):
        flash(_("Name a user or choose a webhook."), "error")
        return redirect(url_for("notifications.admin_index"))
    try:
        with transaction() as s:
            admin = get_user(s, current_user.id)
            subject = outbox.Subject("test", f"{admin.id}-{utcnow():%Y%m%dT%H%M%S%f}", "", "/")
            users = [get_user_by_name(s, form.username.data.strip()).id] if form.username.data else []
            hooks = [form.webhook.data] if form.webhook.data and s.get(WebhookChannel, form.webhook.data) else []
            added = outbox.enqueue(s, "test", subject, users=users, webhooks=hooks)
    except SealtrailError as exc:
        flash(exc.message, "error")
        return redirect(url_for("notifications.admin_index"))
    flash(_("Test message queued (%(count)s); the worker sends it on its next pass.", count=added), "success")
    return redirect(url_for("notifications.admin_index"))


@bp.route("/account/notifications", methods=["GET", "POST"])
@rule("signed_in")  # each person sets only their own preference
def preference():
    with transaction() as s:
        pref = channels.preference_of(s, current_user.id)
        form = PreferenceForm(data={"mode": pref.mode, "digest_hour": pref.digest_hour})
    if form.validate_on_submit():
        with transaction() as s:
            user = get_user(s, current_user.id)
            channels.set_preference(s, actor_for(user), user.id, mode=form.mode.data,
                                    digest_hour=form.digest_hour.data)
        flash(_("Saved."), "success")
        return redirect(url_for("notifications.preference"))
    with transaction() as s:
        timezone = get_user(s, current_user.id).timezone
    status = 422 if form.errors else 200
    return render_template("notifications/preference.html", form=form, timezone=timezone,
                           modes=MODES), status
