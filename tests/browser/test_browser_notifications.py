"""In a real browser: the notifications administration page and a person's preference page, in
English and Chinese, at laptop (1366×900) and small laptop (1024×768) widths: nothing overflows."""
from __future__ import annotations

from tests.browser.conftest import shot
from tests.web.conftest import PASSWORD, make_persona


def sign_in(page, persona):
    page.goto(page.base + "/login")
    page.fill("#username", persona.username)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def no_horizontal_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_notification_pages_fit_in_both_languages(page, fresh_db):
    admin = make_persona(fresh_db, "admin")
    sign_in(page, admin)
    page.goto(page.base + "/admin/notifications/")
    page.fill("#name", "qa-wecom")
    page.select_option("#kind", "wecom")
    page.fill("#url", "https://qyapi.example/cgi-bin/webhook/send?key=TOKEN")
    page.select_option("select#role >> nth=0", "qa_manager")
    page.click("button:has-text('Add webhook')")
    page.wait_for_selector(".flash-success")
    for lang in ("en", "zh_CN"):
        if lang == "zh_CN":
            page.click("button[value=zh_CN]")
            page.wait_for_selector("html[lang=zh-CN]")
        for size in ({"width": 1366, "height": 900}, {"width": 1024, "height": 768}):
            page.set_viewport_size(size)
            page.goto(page.base + "/admin/notifications/")
            assert "qyapi.example" in page.inner_text("#webhooks")
            assert no_horizontal_overflow(page), f"admin page overflows at {size} in {lang}"
            shot(page, f"notifications-admin-{lang}-{size['width']}")
            page.goto(page.base + "/account/notifications")
            assert no_horizontal_overflow(page)
            shot(page, f"notifications-preference-{lang}-{size['width']}")
    assert "通知" in page.inner_text("header")
