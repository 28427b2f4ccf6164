"""API tokens bound to a sharing profile (issue #18): the token reads that profile's masked view
and nothing else; a supplier's token reads its own lots only; people who share may preview."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from audit import Actor
from audit.models import AuditEntry
from engine.access import tokens
from engine.errors import NotFound, ValidationFailed
from engine.users.models import User
from web.app import create_app

ADMIN = Actor(kind="user", id="admin", name="Ada Admin")
WEIGAO = "Shandong Weigao Polymer"
RESIN_LOT = "RCV-2609-001"  # Weigao's PVC compound, extruded into the tubing lots
OTHER_SUPPLIERS_LOT = "RCV-2609-002"
OTHER_SUPPLIERS = ("Henkel Loctite", "Ningbo Medplast", "Pall Medical", "Jiangxi Hongda", "Zhejiang Kindly")


@pytest.fixture()
def app(demo_db):
    app = create_app({"TESTING": True}, settings=demo_db.settings())
    yield app
    app.extensions["sealtrail.engine"].dispose()


def _token(db, *scopes, profile=None, recipient=None) -> str:
    with db.sessions.begin() as s:
        return tokens.create_token(s, ADMIN, name="portal", scopes=list(scopes) or [tokens.READ],
                                   share_profile=profile, share_recipient=recipient).secret


def _bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def _names(db) -> set[str]:
    with db.sessions() as s:
        users = s.execute(select(User.username, User.printed_name)).all()
    names = set()
    for username, printed in users:
        names |= {username, printed, *(part.strip() for part in printed.split("/"))}
    return {n for n in names if len(n) >= 2}


def test_a_supplier_token_reads_its_lot_masked_and_the_read_is_audited(demo_db, app):
    secret = _token(demo_db, profile="supplier", recipient=WEIGAO)
    client = app.test_client()
    response = client.get(f"/api/v1/shared?lot={RESIN_LOT}", headers=_bearer(secret))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    text = json.dumps(body, ensure_ascii=False).casefold()
    assert body["profile"] == "supplier" and body["recipient"] == WEIGAO
    assert [s["supplier"] for s in body["records"]["supplier_lots"]] == [WEIGAO]
    assert body["records"]["parameter_measurements"]
    assert sorted(n for n in _names(demo_db) if n.casefold() in text) == []
    assert not [o for o in OTHER_SUPPLIERS if o.casefold() in text]
    operators = {e["operator_id"] for e in body["records"]["operation_executions"] if e["operator_id"]}
    assert operators and all(o.startswith("P-") for o in operators)
    again = client.get(f"/api/v1/shared?lot={RESIN_LOT}", headers=_bearer(secret)).get_json()
    assert again["records"] == body["records"]  # pseudonyms stable for the token
    with demo_db.sessions() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "share.viewed")).all()
    assert len(entries) == 2 and entries[0].actor_kind == "api"
    after = json.loads(entries[0].after)
    assert after["recipient"] == WEIGAO and after["selector"] == {"lot": RESIN_LOT}


def test_pseudonyms_differ_between_tokens(demo_db, app):
    client = app.test_client()
    views = [client.get(f"/api/v1/shared?lot={RESIN_LOT}", headers=_bearer(
        _token(demo_db, profile="supplier", recipient=WEIGAO))).get_json() for _ in range(2)]
    first, second = ({e["operator_id"] for e in v["records"]["operation_executions"]} for v in views)
    assert first and not first & second


def test_a_supplier_token_cannot_read_another_suppliers_lot_nor_anything_else(demo_db, app):
    secret = _token(demo_db, profile="supplier", recipient=WEIGAO)
    client = app.test_client()
    other = client.get(f"/api/v1/shared?lot={OTHER_SUPPLIERS_LOT}", headers=_bearer(secret))
    assert other.status_code == 404
    assert not [o for o in OTHER_SUPPLIERS if o.casefold() in other.get_data(as_text=True).casefold()]
    for url in (f"/api/v1/lots/{RESIN_LOT}", f"/api/v1/lots/{RESIN_LOT}/trace", "/api/v1/tasks",
                "/api/v1/audit/entries", "/api/v1/kpi?from=2026-01-01&to=2026-12-31"):
        response = client.get(url, headers=_bearer(secret))
        assert response.status_code == 403, url
        assert response.get_json()["errors"][0]["field"] == "share_profile" or "sharing profile" in \
            response.get_data(as_text=True)
    fixed = client.get(f"/api/v1/shared?lot={RESIN_LOT}&recipient=Pall%20Medical", headers=_bearer(secret))
    assert fixed.status_code == 422
    assert client.get("/api/v1/shared?change=CR-1", headers=_bearer(secret)).status_code == 422


def test_an_unbound_token_cannot_read_a_shared_view(demo_db, app):
    secret = _token(demo_db, tokens.READ)
    response = app.test_client().get(f"/api/v1/shared?lot={RESIN_LOT}&profile=supplier", headers=_bearer(secret))
    assert response.status_code == 403


@pytest.mark.parametrize("kwargs, field", [
    ({"scopes": [tokens.READ, tokens.MEASUREMENTS_WRITE], "share_profile": "supplier", "share_recipient": WEIGAO},
     "scopes"),
    ({"scopes": [tokens.READ], "share_profile": "supplier"}, "share_recipient"),
    ({"scopes": [tokens.READ], "share_profile": "supplier", "share_recipient": "Acme Nobody"}, "share_recipient"),
    ({"scopes": [tokens.READ], "share_recipient": WEIGAO}, "share_recipient"),
])
def test_a_profile_binding_is_checked(demo_db, kwargs, field):
    with demo_db.sessions.begin() as s, pytest.raises(ValidationFailed) as exc:
        tokens.create_token(s, ADMIN, name="portal", **kwargs)
    assert exc.value.field == field


def test_a_bound_token_reads_the_released_revision_across_releases(demo_db, app):
    from engine.governance import profile_release, profile_revisions
    from engine.governance.profiles import shipped_profiles

    secret = _token(demo_db, profile="supplier", recipient=WEIGAO)
    client = app.test_client()
    first = client.get(f"/api/v1/shared?lot={RESIN_LOT}", headers=_bearer(secret)).get_json()
    assert first["profile_revision"] == 1 and "certificate_ref" in first["records"]["supplier_lots"][0]
    narrower = shipped_profiles()["supplier"].decode("utf-8").replace('"certificate_ref", ', "")
    with demo_db.sessions.begin() as s:
        draft = profile_revisions.save_draft(s, ADMIN, "supplier", narrower, reason="certificates via the portal")
    drafted = client.get(f"/api/v1/shared?lot={RESIN_LOT}", headers=_bearer(secret)).get_json()
    assert drafted["profile_revision"] == 1 and "certificate_ref" in drafted["records"]["supplier_lots"][0]
    with demo_db.sessions.begin() as s:  # what an implemented change does (engine.processes.changes)
        draft = s.merge(draft)
        profile_release.to_review(s, ADMIN, draft, "CC-TEST-1")
        profile_release.release(s, ADMIN, draft, "CC-TEST-1", "CC-TEST-1: certificates via the portal")
    second = client.get(f"/api/v1/shared?lot={RESIN_LOT}", headers=_bearer(secret))
    assert second.status_code == 200  # the token names the profile, not a revision
    body = second.get_json()
    assert body["profile_revision"] == 2 and "certificate_ref" not in body["records"]["supplier_lots"][0]


def test_an_unknown_profile_is_refused(demo_db):
    with demo_db.sessions.begin() as s, pytest.raises(NotFound):
        tokens.create_token(s, ADMIN, name="portal", scopes=[tokens.READ], share_profile="everyone")


def test_a_notified_body_token_reads_a_period(demo_db, app):
    secret = _token(demo_db, profile="notified-body", recipient="TÜV SÜD")
    client = app.test_client()
    body = client.get("/api/v1/shared?period=2026-01-01..2026-12-31", headers=_bearer(secret)).get_json()
    assert body["profile"] == "notified-body" and set(body["records"]) >= {"change_requests", "deviations"}
    assert client.get(f"/api/v1/shared?lot={RESIN_LOT}", headers=_bearer(secret)).status_code == 422


@pytest.mark.parametrize("username, status", [("zhao.min", 200), ("li.na", 403), ("chen.jing", 403)])
def test_a_person_previews_by_role(demo_db, username, status):
    """The people who share records (QA manager; regulatory) preview a profile's view; operators and
    QA engineers may not (the authz matrix asks every role with an empty query)."""
    from types import SimpleNamespace

    from tests.web.conftest import make_app, sign_in

    app = make_app(demo_db)
    client = app.test_client()
    password = demo_db.demo.credentials()[username].password
    assert sign_in(client, SimpleNamespace(username=username, password=password)).status_code == 302
    response = client.get(f"/api/v1/shared?lot={RESIN_LOT}&profile=supplier&recipient={WEIGAO}")
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    if status == 200:
        text = response.get_data(as_text=True).casefold()
        assert not [n for n in _names(demo_db) if n.casefold() in text]
    app.extensions["sealtrail.engine"].dispose()
