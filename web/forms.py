"""Flask-WTF forms of the web pages (CSRF is enforced globally by CSRFProtect as well)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=80)],
                           render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class TotpForm(FlaskForm):
    code = StringField(_l("Authenticator code"),
                       validators=[DataRequired(), Regexp(r"^\s*\d{6}\s*$", message=_l("Enter the 6-digit code."))],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric",
                                  "pattern": r"\s*\d{6}\s*", "maxlength": 8, "autofocus": True})
    next = HiddenField()


class EnrollForm(FlaskForm):
    credential_id = HiddenField(validators=[DataRequired(), Regexp(r"^\d+$")])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)],
                             render_kw={"autocomplete": "current-password"})
    code = StringField(_l("Authenticator code"),
                       validators=[DataRequired(), Regexp(r"^\s*\d{6}\s*$", message=_l("Enter the 6-digit code."))],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 8})
    acknowledge = BooleanField(_l("I have read and accept this statement."), validators=[DataRequired()])


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)],
                        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("new", message=_l("The passwords do not match."))],
                            render_kw={"autocomplete": "new-password"})


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])
