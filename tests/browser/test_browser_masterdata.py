"""The new master-data, resource and lot-planning pages on a tablet (1024×768) in English and
Chinese: nothing overflows sideways, no script or CSP error, the Chinese labels are there."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from audit import SYSTEM
from audit.enrollment import begin_enrollment, confirm_enrollment
from audit.policy import SigningPolicy
from engine.masterdata.models import Bom, Document, Product, Routing
from engine.masterdata.revisions import new_draft
from engine.users import create_user
from tests.browser.conftest import shot
from tests.browser.test_browser_floor import TABLET_LANDSCAPE, plant_page, sign_in  # noqa: F401 - fixture
from tests.web.conftest import PASSWORD, Persona


def _person(db, username: str, role: str, locale: str) -> Persona:
    policy = SigningPolicy.from_settings(db.settings())
    with db.sessions.begin() as s:
        user = create_user(s, SYSTEM, username=username, printed_name=username.title(), password=PASSWORD,
                           roles=(role,), locale=locale, timezone="UTC", must_change_password=False)
        persona = Persona(user.id, username, user.printed_name, (role,))
        enrollment = begin_enrollment(s, user, policy=policy)
        persona.secret = enrollment.secret
        confirm_enrollment(s, user, enrollment.credential_id, password=PASSWORD, code=persona.code(), policy=policy)
    return persona


def _drafts(db) -> dict[str, int]:
    with db.sessions.begin() as s:
        product = s.scalar(select(Product).where(Product.code == "IS-200"))
        masters = {"product": product, "document": s.scalar(select(Document).where(Document.code == "SOP-001")),
                   "routing": s.scalar(select(Routing).where(Routing.code == "RT-DRIP")),
                   "bom": s.scalar(select(Bom).where(Bom.item_id == product.item_id))}
        return {kind: new_draft(s, SYSTEM, m, change_summary="tablet check").id for kind, m in masters.items()}


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_new_pages_fit_a_tablet_in_both_languages(plant_page, demo_db, locale):
    page = plant_page
    page.set_viewport_size(TABLET_LANDSCAPE)
    drafts = _drafts(demo_db)
    engineer = _person(demo_db, f"pe.{locale.lower()}", "process_engineer", locale)
    sign_in(page, engineer)
    urls = {"draft-product": f"/drafts/product/{drafts['product']}", "draft-bom": f"/drafts/bom/{drafts['bom']}",
            "draft-document": f"/drafts/document/{drafts['document']}",
            "draft-routing": f"/drafts/routing/{drafts['routing']}", "draft-new": "/drafts/new",
            "resources-equipment": "/resources/?kind=equipment", "resources-lt01": "/resources/equipment/LT-01"}
    for name, url in urls.items():
        page.goto(page.base + url)
        page.wait_for_selector("main")
        assert _fits(page), f"{url} overflows at 1024×768 ({locale})"
        shot(page, f"{name}-{locale}")
    if locale == "zh_CN":
        page.goto(page.base + urls["draft-bom"])
        assert "添加一行" in page.inner_text("main") and "容差" in page.inner_text("main")
    manager = _person(demo_db, f"pm.{locale.lower()}", "production_manager", locale)
    page.context.clear_cookies()
    sign_in(page, manager)
    page.goto(page.base + "/lots/plan/")
    page.select_option("#what", "product:IS-200")
    page.fill("#lot_number", f"IS200-2612-9{1 if locale == 'en' else 2}")
    page.fill("#quantity", "200")
    page.click("#plan-lot button[type=submit]")
    page.wait_for_selector(".flash-success")
    assert _fits(page), f"/lots/plan/ overflows at 1024×768 ({locale})"
    shot(page, f"lot-plan-{locale}")
    assert not [e for e in page.console_errors if "Content Security Policy" in e], page.console_errors
