"""Routing drafts in the browser beyond limits: operations added and removed, equipment/tooling/SOP
links set, parameters and inspection items (sample size, accept number) added — each refusal named
by field with the entries kept, each edit audited, the diff listing it; only process engineers."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from audit import SYSTEM
from audit.models import AuditEntry
from engine.masterdata.models import Routing, RoutingRevision
from engine.masterdata.revisions import new_draft
from tests.web.conftest import csrf_token, make_app, make_persona, sign_in


@pytest.fixture()
def engineer(demo_db):
    with demo_db.sessions.begin() as s:
        routing = s.scalar(select(Routing).where(Routing.code == "RT-DRIP"))
        rev_id = new_draft(s, SYSTEM, routing, change_summary="second UV cure check").id
    app = make_app(demo_db)
    client = app.test_client()
    assert sign_in(client, make_persona(demo_db, "pe")).status_code == 302
    yield client, rev_id
    app.extensions["sealtrail.engine"].dispose()


def _ops(demo_db, rev_id):
    with demo_db.sessions() as s:
        return {op.code: op for op in s.get(RoutingRevision, rev_id).operations}, s


def test_an_operation_added_with_resources_parameter_and_inspection(engineer, demo_db):
    client, rev_id = engineer
    page = f"/drafts/routing/{rev_id}"
    token = csrf_token(client, page)
    bad = client.post(f"{page}/operations", data={"sequence": "ten", "code": "CURE2", "name": "Second cure",
                                                  "csrf_token": token})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'data-field="sequence"' in html and 'value="CURE2"' in html
    ok = client.post(f"{page}/operations", data={"sequence": "25", "code": "CURE2", "name": "Second cure",
                                                 "work_centre": "UV", "setup_minutes": "5", "csrf_token": token})
    assert ok.status_code == 302
    with demo_db.sessions() as s:
        op = next(o for o in s.get(RoutingRevision, rev_id).operations if o.code == "CURE2")
        op_id = op.id
    res = client.post(f"{page}/operations/{op_id}/resources", data={
        "equipment": ["UV-01"], "document": ["SOP-001"], "purpose-SOP-001": "work_instruction",
        "reason": "cure station and its instruction", "csrf_token": token})
    assert res.status_code == 302, res.get_data(as_text=True)
    bad = client.post(f"{page}/operations/{op_id}/resources", data={"equipment": ["NO-SUCH"], "reason": "x",
                                                                    "csrf_token": token})
    assert bad.status_code == 422 and 'data-field="equipment"' in bad.get_data(as_text=True)
    bad = client.post(f"{page}/operations/{op_id}/parameters", data={"name": "UV dose", "unit": "mJ/cm^2",
                                                                     "lsl": "900", "usl": "800", "csrf_token": token})
    assert bad.status_code == 422 and "lsl 900.0 is above usl 800.0" in bad.get_data(as_text=True)
    ok = client.post(f"{page}/operations/{op_id}/parameters", data={"name": "UV dose", "unit": "mJ/cm^2",
                                                                    "target": "850", "lsl": "800", "usl": "900",
                                                                    "critical": "on", "csrf_token": token})
    assert ok.status_code == 302
    bad = client.post(f"{page}/operations/{op_id}/inspections", data={
        "name": "Bond pull", "kind": "attribute", "sample_size": "5", "accept_number": "9", "method": "pull",
        "acceptance_criteria": "no break", "csrf_token": token})
    assert bad.status_code == 422 and 'data-field="accept_number"' in bad.get_data(as_text=True)
    ok = client.post(f"{page}/operations/{op_id}/inspections", data={
        "name": "Bond pull", "kind": "attribute", "sample_size": "5", "accept_number": "0", "method": "pull 15 N",
        "acceptance_criteria": "no break", "csrf_token": token})
    assert ok.status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert "operation CURE2 Second cure added" in html and "Bond pull" in html
    with demo_db.sessions() as s:
        op = next(o for o in s.get(RoutingRevision, rev_id).operations if o.code == "CURE2")
        assert [e.code for e in op.equipment] == ["UV-01"]
        assert [(link.document.code, link.purpose) for link in op.document_links] == [("SOP-001", "work_instruction")]
        assert [(p.name, p.lsl, p.usl, p.critical) for p in op.parameters] == [("UV dose", 800, 900, True)]
        assert [(i.name, i.sample_size, i.accept_number) for i in op.inspection_items] == [("Bond pull", 5, 0)]
        reasons = [e.reason for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "routing.set_resources"))]
        assert reasons[-1] == "cure station and its instruction"
    gone = client.post(f"{page}/operations/{op_id}/remove", data={"reason": "merged into UVB", "csrf_token": token})
    assert gone.status_code == 302
    with demo_db.sessions() as s:
        assert all(o.code != "CURE2" for o in s.get(RoutingRevision, rev_id).operations)


@pytest.mark.parametrize("key", ["op", "qa"])
def test_only_process_engineers_add_operations(demo_db, key):
    with demo_db.sessions.begin() as s:
        routing = s.scalar(select(Routing).where(Routing.code == "RT-DRIP"))
        rev_id = new_draft(s, SYSTEM, routing, change_summary="x").id
    app = make_app(demo_db)
    client = app.test_client()
    try:
        assert sign_in(client, make_persona(demo_db, key)).status_code == 302
        token = csrf_token(client, "/lots/")
        assert client.post(f"/drafts/routing/{rev_id}/operations", data={"sequence": "25", "code": "X", "name": "X",
                                                                        "csrf_token": token}).status_code == 403
    finally:
        app.extensions["sealtrail.engine"].dispose()


def _is200_draft(demo_db):
    with demo_db.sessions.begin() as s:
        routing = s.scalar(select(Routing).where(Routing.code == "RT-IS200"))
        rev = new_draft(s, SYSTEM, routing, change_summary="ISO 2859-1 sampling of the visual check")
        op = next(o for o in rev.operations if o.code == "PULL")
        item = next(i for i in op.inspection_items if i.kind == "attribute")
        return rev.id, op.id, item.id


def test_an_inspections_iso_2859_sampling_and_reduced_approval_are_set_on_the_draft(demo_db):
    """The approval of reduced inspection is part of the routing draft: it takes effect only when the
    revision is released through review, and every refusal names its field."""
    rev_id, op_id, item_id = _is200_draft(demo_db)
    app = make_app(demo_db)
    client = app.test_client()
    try:
        assert sign_in(client, make_persona(demo_db, "pe")).status_code == 302
        page = f"/drafts/routing/{rev_id}"
        url = f"{page}/operations/{op_id}/inspections/{item_id}/sampling"
        token = csrf_token(client, page)
        assert 'name="reduced_inspection_approved"' in client.get(page).get_data(as_text=True)
        for data, field in (({"inspection_level": "II", "aql": "1.2"}, "aql"),
                            ({"inspection_level": "IV", "aql": "1.0"}, "inspection_level"),
                            ({"inspection_level": "II"}, "aql"),
                            ({"reduced_inspection_approved": "on"}, "reduced_inspection_approved")):
            bad = client.post(url, data={**data, "reason": "AQL plan", "csrf_token": token})
            assert bad.status_code == 422 and f'data-field="{field}"' in bad.get_data(as_text=True), data
        ok = client.post(url, data={"inspection_level": "II", "aql": "0.65", "reduced_inspection_approved": "on",
                                    "reason": "switching score allowed; production steady", "csrf_token": token})
        assert ok.status_code == 302, ok.get_data(as_text=True)
        html = client.get(page).get_data(as_text=True)
        assert "ISO 2859-1 · level II · AQL 0.65" in html and "data-reduced-approved" in html
        assert "inspection Visual: particles, bubbles, incomplete bond changed" in html  # the draft's diff
        added = client.post(f"{page}/operations/{op_id}/inspections", data={
            "name": "Cosmetic", "kind": "attribute", "sample_size": "1", "method": "visual", "csrf_token": token,
            "acceptance_criteria": "ISO 2859-1", "inspection_level": "I", "aql": "2.5"})
        assert added.status_code == 302, added.get_data(as_text=True)
        with demo_db.sessions() as s:
            op = next(o for o in s.get(RoutingRevision, rev_id).operations if o.id == op_id)
            got = {i.name: (i.inspection_level, i.aql, i.reduced_inspection_approved) for i in op.inspection_items}
            assert got["Visual: particles, bubbles, incomplete bond"] == ("II", 0.65, True)
            assert got["Cosmetic"] == ("I", 2.5, False)
            entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "routing.update_inspection_item")).one()
            assert entry.reason == "switching score allowed; production steady"
            assert entry.after_value["reduced_inspection_approved"] is True and entry.before_value["aql"] == 1.0  # the demo releases it at AQL 1.0
    finally:
        app.extensions["sealtrail.engine"].dispose()


@pytest.mark.parametrize("key", ["op", "qa", "auditor"])
def test_only_process_engineers_set_an_inspections_sampling(demo_db, key):
    rev_id, op_id, item_id = _is200_draft(demo_db)
    app = make_app(demo_db)
    client = app.test_client()
    try:
        assert sign_in(client, make_persona(demo_db, key)).status_code == 302
        token = csrf_token(client, "/lots/")
        assert client.post(f"/drafts/routing/{rev_id}/operations/{op_id}/inspections/{item_id}/sampling",
                           data={"inspection_level": "II", "aql": "1.0", "reduced_inspection_approved": "on",
                                 "reason": "x", "csrf_token": token}).status_code == 403
    finally:
        app.extensions["sealtrail.engine"].dispose()
