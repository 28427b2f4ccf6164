"""In a real browser: sign-in at an OpenID Connect provider (the test's Authlib provider on loopback),
the authenticator set-up that first re-authenticates at the provider, and the layout of those
pages at 1366 and 1024 wide in both languages."""
from __future__ import annotations

import time

import pyotp
import pytest

from tests.browser.conftest import LAPTOP, LiveServer, shot
from tests.engine.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from web.app import create_app

SMALL = {"width": 1024, "height": 768}


@pytest.fixture()
def oidc_live(fresh_db, monkeypatch):
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain HTTP on loopback, in the test only
    provider = Provider("")
    provider.add_person("lena.wang", "王丽娜 Lena Wang", "lena.wang@plant.example", ["qa-managers"],
                        signed_in_at=int(time.time()) - 3600)
    provider.signed_in = "lena.wang"
    app = create_app({"SESSION_COOKIE_SECURE": False}, settings=fresh_db.settings(
        oidc_issuer=provider.issuer, oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET))
    with LiveServer(app) as server:
        provider.client.redirect_uri = f"{server.url}/login/oidc/callback"
        yield server
    app.extensions["sealtrail.engine"].dispose()
    provider.stop()


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_sign_in_at_the_provider_and_set_up_the_authenticator_after_signing_in_again(browser, oidc_live):
    context = browser.new_context(viewport=LAPTOP, locale="en-US", timezone_id="UTC")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(oidc_live.url + "/login")
    for size, name in ((LAPTOP, "oidc-login-1366"), (SMALL, "oidc-login-1024")):
        page.set_viewport_size(size)
        shot(page, name)
        assert fits(page)
    page.set_viewport_size(LAPTOP)
    page.click("[data-oidc-sign-in]")
    page.wait_for_url("**/account/authenticator")
    assert page.locator("[data-reauthenticate]").count() == 1 and page.locator("#totp-secret").count() == 0
    shot(page, "oidc-enroll-reauthenticate")
    page.click("[data-reauthenticate] a")
    page.wait_for_selector("#totp-secret")
    secret = page.locator("#totp-secret").get_attribute("data-secret")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.check("#acknowledge")
    assert page.locator("form[action$='/account/authenticator'] #password").count() == 0  # nothing to type
    page.set_viewport_size(SMALL)
    shot(page, "oidc-enroll-confirm-1024")
    assert fits(page)
    page.click("form[action$='/account/authenticator'] button[type=submit]")
    page.wait_for_selector(".flash-success")
    if page.locator("html[lang=zh-CN]").count() == 0:
        page.click("button[value=zh_CN]")
        page.wait_for_selector("html[lang=zh-CN]")
    page.click("header button:has-text('退出登录')")
    page.wait_for_url("**/login")
    assert page.inner_text("[data-oidc-sign-in]") == "使用公司账号登录"
    for size, name in ((LAPTOP, "oidc-login-zh-1366"), (SMALL, "oidc-login-zh-1024")):
        page.set_viewport_size(size)
        shot(page, name)
        assert fits(page)
    context.close()
    assert errors == []
