"""In a real browser: first sign-in, password change, TOTP enrolment from the shown secret,
language switch, and the layout at laptop and tablet widths."""
from __future__ import annotations

import pyotp

from tests.browser.conftest import TABLET, shot
from tests.web.conftest import PASSWORD, make_persona


def sign_in(page, username, password=PASSWORD):
    page.goto(page.base + "/")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]:has-text('Sign in')")


def test_first_sign_in_enrol_totp_and_switch_language(page, fresh_db):
    pe = make_persona(fresh_db, "pe", enrolled=False, must_change_password=True)
    page.goto(page.base + "/")
    shot(page, "login")
    sign_in(page, pe.username)
    # first login: choose an own password
    page.wait_for_url("**/account/password")
    page.fill("#current", PASSWORD)
    page.fill("#new", "my-own-password-42")
    page.fill("#confirm", "my-own-password-42")
    page.click("button:has-text('Change password')")
    # then the authenticator, from the secret shown once
    page.wait_for_url("**/account/authenticator")
    assert page.locator(".qr svg").count() == 1
    secret = page.locator("#totp-secret").get_attribute("data-secret")
    shot(page, "enroll-totp")
    page.fill("#password", "my-own-password-42")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.check("#acknowledge")
    page.click("button:has-text('Confirm and sign')")
    page.wait_for_selector(".flash-success")
    assert "authenticator is set up" in page.inner_text(".flash-success")
    # switch language: the interface speaks Chinese, and keeps it after signing in again
    page.click("button[value=zh_CN]")
    page.wait_for_selector("html[lang=zh-CN]")
    assert "退出登录" in page.inner_text("header")
    page.click("header button:has-text('退出登录')")
    page.wait_for_url("**/login")
    sign_in_zh = page.locator("main button[type=submit]").first.inner_text()
    assert sign_in_zh == "登录"
    page.set_viewport_size(TABLET)
    shot(page, "login-zh-tablet")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.console_errors == []
