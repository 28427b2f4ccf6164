"""Every page a demo user reaches from the menu, as each demo role, in English and Chinese, on a
laptop (1366×900) and a tablet (1024×768).

A page fails when the document is wider than the window (the user would scroll sideways), when the
browser logs a console error, when a Chinese page shows a catalogue message in English, or when the
modeler's palette covers the diagram. The menu's pages are checked as every role (each sees its own
rows); from them, the first link of each kind (a task, a lot, a tab, a filter…) once per language,
and every task once per language, so detail pages are covered too. Recorded values (audit
before/after, reasons, instance data) are marked ``data-i18n-exempt``: evidence is not translated.
Screenshots go to ``var/screenshots/sweep/`` (one per page kind, language and size).

One browser and one context per role: the languages and sizes are switched inside it.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from engine.demo.plant_data import USERS
from tests.browser.conftest import SCREENSHOTS, LiveServer
from tests.catalogue import english_in
from web.app import create_app

pytestmark = pytest.mark.slow

SIZES = {"laptop": {"width": 1366, "height": 900}, "tablet": {"width": 1024, "height": 768}}
LANGS = ("en", "zh_CN")
# One demo user per role (the demo's first of each).
ROLE_USERS = list({roles[0]: username for username, _name, roles, _locale in reversed(USERS)}.items())
# Links the sweep does not follow: downloads, machine-readable answers, actions.
SKIP = re.compile(r"\.(pdf|csv|json|xml|bpmn|png|svg|zip)$|/export|/download|/api/|/logout|/static/|\?.*format=")
DETAIL_LINKS_PER_PAGE = 12
SWEEP_SHOTS = SCREENSHOTS / "sweep"
# Console messages a vendored library logs as errors although nothing failed: dmn-js's production
# bundle (web/assets, the decision-table editor) carries Inferno's development-build notice.
UPSTREAM_NOTICES = ("It looks like you're using a minified copy of the development build of Inferno",)
# Pages shown in the README (docs/screenshots/, refreshed with SEALTRAIL_UPDATE_README_SCREENSHOTS=1):
# (page kind or the designed context it shows, language) -> file name; laptop size, first screen.
README_SHOTS = {("/trace/kpi", "en"): "kpi-dashboard", ("release_review", "en"): "release-review",
                ("change", "zh_CN"): "change-impact-zh", ("measurement_chart", "en"): "deviation-chart",
                ("/audit/signatures", "zh_CN"): "signature-register-zh"}

# Every text node and the attributes a user reads, whitespace-collapsed.
_TEXTS_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const n = walker.currentNode, p = n.parentElement;
    if (!p || p.closest('script,style,code,pre,[data-i18n-exempt]')) continue;
    const t = n.textContent.trim(); if (t) out.push(t);
  }
  for (const el of document.querySelectorAll('[title],[placeholder],[aria-label],input[type=submit][value]'))
    for (const a of ['title', 'placeholder', 'aria-label'])
      if (el.getAttribute(a)) out.push(el.getAttribute(a));
  out.push(document.title);
  return out;
}"""
_LINKS_JS = """() => Array.from(document.querySelectorAll('main a[href]'))
  .filter(a => !a.closest('[data-sweep-skip]') && !a.hasAttribute('download'))
  .map(a => new URL(a.getAttribute('href'), location.href).href)"""
_OVERFLOW_JS = """() => {
  const w = document.documentElement.clientWidth;
  const wide = document.documentElement.scrollWidth;
  if (wide <= w + 1) return null;
  const culprits = [];
  for (const el of document.querySelectorAll('main *')) {
    const r = el.getBoundingClientRect();
    if (r.right > w + 1 && r.width > 0 && !el.closest('.tablewrap,[data-scrolls]'))
      culprits.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                    (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '') +
                    ' right=' + Math.round(r.right));
    if (culprits.length >= 3) break;
  }
  return {width: wide, culprits};
}"""


# The modeler's palette floats over the canvas: no shape of the diagram may lie under it.
_PALETTE_JS = """() => {
  const palette = document.querySelector('.djs-palette');
  if (!palette) return null;
  const p = palette.getBoundingClientRect();
  const under = [];
  for (const el of document.querySelectorAll('.djs-shape .djs-visual')) {
    const r = el.getBoundingClientRect();
    if (r.width && r.left < p.right && r.right > p.left && r.top < p.bottom && r.bottom > p.top)
      under.push(el.closest('[data-element-id]').getAttribute('data-element-id'));
  }
  return under.length ? under.slice(0, 5) : null;
}"""


def shape(url: str) -> str:
    """A page kind: the path with numbers, lot numbers and codes made generic (one visit per kind)."""
    parts = urlsplit(url)
    path = re.sub(r"/[0-9a-f]{8}-[0-9a-f-]{27,}", "/<uuid>", parts.path)
    path = re.sub(r"/\d+(?=/|$)", "/<n>", path)
    path = re.sub(r"/[A-Z][A-Z0-9]*-[A-Za-z0-9.-]+(?=/|$)", "/<code>", path)
    query = "&".join(sorted(k.split("=")[0] for k in parts.query.split("&") if k))
    return path + ("?" + query if query else "")


def slug(kind: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", kind).strip("-") or "home"


@pytest.fixture()
def demo_server(demo_db):
    from engine.demo.quality_instances import start_demo_processes

    with demo_db.sessions.begin() as s:
        start_demo_processes(s, demo_db.settings(), demo_db.demo)
    app = create_app({"SESSION_COOKIE_SECURE": False}, settings=demo_db.settings())
    with LiveServer(app) as server:
        yield server
    app.extensions["sealtrail.engine"].dispose()


class Sweep:
    def __init__(self, page, base: str, role: str):
        self.page, self.base, self.role = page, base, role
        self.problems: list[str] = []
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text)
                if m.type == "error" and not m.text.startswith(UPSTREAM_NOTICES) else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def sign_in(self, username: str, password: str) -> None:
        self.page.goto(self.base + "/login")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("main button[type=submit]")
        self.page.wait_for_load_state()

    def set_language(self, lang: str) -> None:
        self.page.click(f".langswitch button[value={lang}]")
        self.page.wait_for_load_state()

    def menu(self) -> list[str]:
        return self.page.eval_on_selector_all(".mainnav a", "els => els.map(a => a.href)")

    def visit(self, url: str, lang: str, shots: set) -> list[str]:
        """Load ``url``, check it at both sizes; returns the page's own links."""
        page = self.page
        self.errors.clear()
        page.set_viewport_size(SIZES["laptop"])
        response = page.goto(url)
        if page.locator("script[src*='/vendor/']").count():
            page.wait_for_load_state("networkidle")  # the diagram fetches its XML after load
        where = f"[{self.role} {lang}] {urlsplit(url).path}"
        if response is None or response.status >= 400:
            self.problems.append(f"{where}: HTTP {response.status if response else '?'}")
        kind = shape(page.url)
        if "/tasks/" in kind:  # each task has its own designed context: one shot per task name
            kind += "-" + urlsplit(page.url).path.rsplit("/", 1)[-1][:8]
        for size_name, size in SIZES.items():
            page.set_viewport_size(size)
            page.wait_for_timeout(50)  # let resize handlers (the diagram canvas) run
            overflow = page.evaluate(_OVERFLOW_JS)
            covered = page.evaluate(_PALETTE_JS)
            if covered:
                self.problems.append(f"{where} at {size['width']}: the palette covers {covered}")
            if overflow:
                self.problems.append(f"{where} at {size['width']}: document {overflow['width']} px wide "
                                     f"({'; '.join(overflow['culprits'])})")
            key = (kind, lang, size_name)
            if key not in shots:
                shots.add(key)
                SWEEP_SHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SWEEP_SHOTS / f"{slug(kind)}.{lang}.{size['width']}.png"), full_page=True,
                                timeout=90_000)  # long pages on a busy machine
        self._readme_shot(kind, lang)
        if lang == "zh_CN":
            english = english_in(page.evaluate(_TEXTS_JS))
            if english:
                self.problems.append(f"{where}: English on a Chinese page: {', '.join(english)}")
        if self.errors:
            self.problems.append(f"{where}: console errors: {self.errors}")
        return page.evaluate(_LINKS_JS)


    def _readme_shot(self, kind: str, lang: str) -> None:
        if os.environ.get("SEALTRAIL_UPDATE_README_SCREENSHOTS") != "1":
            return
        contexts = self.page.eval_on_selector_all("[data-context]", "els => els.map(e => e.dataset.context)")
        for key in [kind, *contexts]:
            name = README_SHOTS.pop((key, lang), None)
            if name is not None:
                self.page.set_viewport_size(SIZES["laptop"])
                self.page.screenshot(path=str(Path("docs/screenshots") / f"{name}.png"))


def _same_site_pages(links: list[str], base: str) -> list[str]:
    return [u.split("#")[0] for u in links if u.startswith(base) and not SKIP.search(u)]


@pytest.mark.timeout(900)
def test_every_menu_page_fits_speaks_the_language_and_logs_no_error(browser, demo_db, demo_server):
    credentials = demo_db.demo.credentials()
    problems: list[str] = []
    shots: set = set()
    # Menu pages are checked as every role (each sees its own rows); a detail page of a kind once per
    # language (the first role to reach it), each task once per language (tasks differ by process).
    details: dict[str, set] = {lang: set() for lang in LANGS}
    for role, username in ROLE_USERS:
        context = browser.new_context(viewport=SIZES["laptop"], locale="en-US", timezone_id="UTC")
        page = context.new_page()
        page.set_default_timeout(60_000)  # a busy CI machine
        sweep = Sweep(page, demo_server.url, role)
        sweep.sign_in(username, credentials[username].password)
        for lang in LANGS:
            sweep.set_language(lang)
            menu = _same_site_pages(sweep.menu(), demo_server.url)
            assert menu, f"{role} sees no menu"
            menu_kinds = {shape(url) for url in menu}
            for url in menu:
                links = sweep.visit(url, lang, shots)
                followed = 0
                for link in _same_site_pages(links, demo_server.url):
                    seen_as = link if "/tasks/" in link else shape(link)
                    if shape(link) in menu_kinds or seen_as in details[lang] or followed >= DETAIL_LINKS_PER_PAGE:
                        continue
                    details[lang].add(seen_as)
                    followed += 1
                    sweep.visit(link, lang, shots)
        problems += sweep.problems
        context.close()
    assert len({kind for kind, _lang, _size in shots}) > 30, sorted(shots)
    assert not problems, f"{len(problems)} page problems:\n" + "\n".join(problems)
