"""Browser tests: the app served on a free local port, Debian's chromium driven by Playwright.

Never ``playwright install``: the system chromium is launched by path. Screenshots go to
``var/screenshots/`` (and, with SEALTRAIL_UPDATE_README_SCREENSHOTS=1, the inbox one to ``docs/screenshots/inbox.png`` for the README).
"""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from web.app import create_app

CHROMIUM = os.environ.get("SEALTRAIL_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path("var/screenshots")
LAPTOP = {"width": 1366, "height": 900}
TABLET = {"width": 820, "height": 1180}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


class LiveServer:
    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture()
def live(fresh_db):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM}: apt-get install -y chromium")
    # Plain HTTP on loopback: the session cookie cannot be Secure here (production sets it).
    app = create_app({"SESSION_COOKIE_SECURE": False}, settings=fresh_db.settings())
    with LiveServer(app) as server:
        yield server
    app.extensions["sealtrail.engine"].dispose()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM,
                               args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


@pytest.fixture()
def page(browser, live):
    context = browser.new_context(viewport=LAPTOP, locale="en-US", timezone_id="UTC")
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.console_errors = errors
    pg.base = live.url
    yield pg
    context.close()
    # Any JavaScript error fails the test, not only CSP violations: a page that throws is broken.
    assert errors == [], f"JavaScript console errors: {errors}"


def shot(page, name: str, *, readme: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    # The README's screenshot is refreshed on request only, so a test run leaves the checkout clean.
    if readme and os.environ.get("SEALTRAIL_UPDATE_README_SCREENSHOTS") == "1":
        target = Path("docs/screenshots") / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return path
