"""In a real browser: the data dictionary page (#18) at laptop and small-laptop widths, en and zh."""
from __future__ import annotations

from tests.browser.conftest import shot
from tests.web.conftest import PASSWORD, make_persona


def test_data_dictionary_page_layout(page, fresh_db):
    qa = make_persona(fresh_db, "qa")
    page.goto(page.base + "/")
    page.fill("#username", qa.username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    for width, height in ((1366, 900), (1024, 768)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(page.base + "/admin/data-dictionary/?q=lot")
        assert page.locator("#t-lots").is_visible()
        # Nothing wider than the window: the column tables scroll inside their own box.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, f"data-dictionary-{width}")
    page.click("text=中文")
    page.goto(page.base + "/admin/data-dictionary/?q=lot&personal=1")
    assert page.locator("h1").inner_text() == "数据字典" and page.locator("#t-lot_holds").is_visible()
    assert not page.locator("#t-lots").count()  # no personal column in lots
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    shot(page, "data-dictionary-zh-personal")
