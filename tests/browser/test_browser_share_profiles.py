"""The sharing-profile pages (#18) fit 1366×900 and 1024×768 in English and Chinese: the list, and
a profile with its released text, an open draft's difference, the draft editor and the proposal form."""
from __future__ import annotations

from audit import SYSTEM
from engine.governance import profile_revisions
from engine.governance.profiles import shipped_profiles
from tests.browser.conftest import shot
from tests.browser.test_browser_flows import sign_in
from tests.catalogue import english_in
from tests.web.conftest import make_persona

SIZES = ({"width": 1366, "height": 900}, {"width": 1024, "height": 768})
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
TEXTS = """() => { const out = []; const w = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
  while (w.nextNode()) { const p = w.currentNode.parentElement;
    if (p && !p.closest('script,style,code,pre,textarea,[data-i18n-exempt]')) { const t = w.currentNode.textContent.trim();
      if (t) out.push(t); } } return out; }"""


def test_the_sharing_profile_pages_fit_in_both_languages(page, fresh_db):
    pe = make_persona(fresh_db, "pe")
    with fresh_db.sessions.begin() as s:
        profile_revisions.install_shipped(s, SYSTEM)
        text = shipped_profiles()["notified-body"].decode("utf-8").replace(', "decision_comment"]', "]")
        profile_revisions.save_draft(s, SYSTEM, "notified-body", text, reason="the notified body asked for less")
    sign_in(page, pe)
    for path, name in (("/sharing/profiles/", "profiles"), ("/sharing/profiles/notified-body", "profile")):
        page.goto(page.base + path)
        for lang in ("zh_CN", "en"):
            page.click(f".langswitch button[value={lang}]")
            page.wait_for_load_state()
            for size in SIZES:
                page.set_viewport_size(size)
                assert page.evaluate(OVERFLOW) <= 1, (path, lang, size)
                shot(page, f"share-{name}.{lang}.{size['width']}")
            if lang == "zh_CN":
                untranslated = english_in(page.evaluate(TEXTS))
                assert not untranslated, (path, untranslated)
    assert "decision_comment" in page.inner_text("#profile-diff")
    assert page.locator("#submit-form").count() == 1
