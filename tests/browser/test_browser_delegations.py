"""The delegations page (#18) fits 1366×900 and 1024×768 in English and Chinese, with a delegation
listed and the form to create one."""
from __future__ import annotations

import datetime as dt

from engine.delegations.acting import create_delegation
from engine.users import actor_for, get_user
from tests.browser.conftest import shot
from tests.browser.test_browser_flows import sign_in
from tests.web.conftest import make_persona

SIZES = ({"width": 1366, "height": 900}, {"width": 1024, "height": 768})
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def test_the_delegations_page_fits_in_both_languages(page, fresh_db):
    qa, op = make_persona(fresh_db, "qa"), make_persona(fresh_db, "op")
    now = dt.datetime.now(dt.timezone.utc)
    with fresh_db.sessions.begin() as s:
        giver = get_user(s, qa.id)
        create_delegation(s, actor_for(giver), delegator=giver, delegate=get_user(s, op.id), roles=["qa_manager"],
                          process_ids=["web_change"], valid_from=now, valid_until=now + dt.timedelta(days=14),
                          reason="annual leave, back on the 21st", now=now)
    sign_in(page, qa)
    page.goto(page.base + "/inbox/")
    page.click("#delegations-link")
    for lang in ("zh_CN", "en"):
        page.click(f".langswitch button[value={lang}]")
        page.wait_for_load_state()
        for size in SIZES:
            page.set_viewport_size(size)
            assert page.evaluate(OVERFLOW) <= 1, (lang, size)
            shot(page, f"delegations.{lang}.{size['width']}")
        if lang == "zh_CN":
            assert "委托您的角色" in page.inner_text("main")
    assert op.printed_name in page.inner_text("#delegations")
