"""Traceability pages and API on the demo plant: trace tree, recall, DHR page and PDF, KPI dashboard.

Signing in is the web area's concern (tested there); these tests put a signed-in QA manager in
the session directly so they exercise only the traceability views.
"""
import datetime as dt
import re

import pytest

from web.login import SignedInUser
from web.app import create_app


@pytest.fixture()
def client(demo_db):
    app = create_app({"TESTING": True, "SESSION_COOKIE_SECURE": False}, settings=demo_db.settings())
    user = SignedInUser(id=1, username="qa.tester", printed_name="QA Tester", role_names=frozenset({"qa_manager"}),
                        locale="en", timezone="Asia/Shanghai", must_change_password=False, totp_enrolled=True)
    app.login_manager.session_protection = None
    app.login_manager.user_loader(lambda user_id: user if user_id == "1" else None)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = "1"
        sess["_fresh"] = True
    yield client
    app.extensions["sealtrail.engine"].dispose()


def test_lookup_by_scan_redirects_to_the_tree(client):
    response = client.get("/trace/", query_string={"lot": "(01)06970000000017(10)IS200-2609-001"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/trace/lots/IS200-2609-001")
    html = client.get("/trace/", query_string={"lot": "NOPE-1"}).get_data(as_text=True)
    assert "no lot &#39;NOPE-1&#39;" in html or "no lot 'NOPE-1'" in html


@pytest.mark.requirement("ISO13485-7.5.9")
def test_trace_tree_page(client):
    html = client.get("/trace/lots/IS200-2609-001").get_data(as_text=True)
    assert 'id="trace-tree"' in html
    for lot in ("TUBE-2609-01", "DRIP-2609-01"):
        assert f'href="/trace/lots/{lot}"' in html
    forward = client.get("/trace/lots/TUBE-2609-01?direction=forward").get_data(as_text=True)
    assert "IS200-2609-001" in forward and "IS200-2610-002" in forward
    assert client.get("/trace/lots/NOPE").status_code == 404


@pytest.mark.requirement("ISO13485-7.5.9")
def test_recall_page(client):
    html = client.get("/trace/recall?lot=TUBE-2609-01").get_data(as_text=True)
    rows = re.findall(r"<tr><td><a href=\"/trace/lots/([^\"]+)\"", html)
    assert rows == ["IS200-2609-001", "IS200-2610-002"]
    assert "1964" in html  # approved for distribution, the released lot


@pytest.mark.requirement("Annex11-8", "ISO13485-7.5.9")
def test_dhr_page_and_pdf(client):
    html = client.get("/trace/dhr/IS200-2609-001").get_data(as_text=True)
    assert 'class="gs1-128"' in html and "(10)IS200-2609-001" in html
    assert "decimal point missed" in html and "badge-warn" in html  # the corrected value is marked
    assert 'id="dhr-audit"' in html and "Verification" in html
    pdf = client.get("/trace/dhr.pdf/IS200-2609-001")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert 'filename="DHR-IS200-2609-001.pdf"' in pdf.headers["Content-Disposition"]


def test_kpi_dashboard_and_api(client):
    # The demo plant's records lie in the months before the day it was loaded: ask for that year.
    today = dt.datetime.now(dt.timezone.utc).date()
    period = f"from={today - dt.timedelta(days=365)}&to={today + dt.timedelta(days=1)}"
    html = client.get(f"/trace/kpi?{period}").get_data(as_text=True)
    assert 'id="kpi-production"' in html and html.count("<svg") >= 2
    # a figure's records are a count linking to their list; the list links each record to its page
    link = re.search(r'<div class="kpi" data-figure="batch_pass_rate">.*?<a href="([^"]+)">(\d+) records</a>', html, re.S)
    assert link is not None, html
    records = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert 'href="/trace/dhr/IS200-2609-001"' in records
    assert records.count("<li>") == int(link.group(2))
    assert not re.search(r"\d+\.\dmin|\d+\.\dh\b", html)  # durations in human units, not 65161.5min
    assert client.get(f"/trace/kpi/records?{period}&section=production&figure=nope").status_code == 404
    assert client.get(f"/trace/kpi/records?{period}&section=__class__&figure=x").status_code == 404
    assert client.get("/trace/kpi?from=2026-02-01&to=2026-01-01").status_code == 400
    data = client.get(f"/api/v1/kpi?{period}").get_json()
    assert data["schema"] == "sealtrail.kpi/1" and data["lots_in_period"] >= 3
    assert "IS200-2609-001" in data["production"]["batch_pass_rate"]["records"]
    tree = client.get("/api/v1/lots/IS200-2609-001/trace").get_json()
    assert tree["direction"] == "backward" and tree["max_depth"] == 2
    recall = client.get("/api/v1/lots/TUBE-2609-01/recall").get_json()
    assert [a["lot_number"] for a in recall["affected"]] == ["IS200-2609-001", "IS200-2610-002"]
    assert client.get("/api/v1/lots/NOPE/dhr").status_code == 404
    lot = client.get("/api/v1/lots/IS200-2609-001").get_json()
    assert lot["lot_number"] == "IS200-2609-001" and lot["product"] and len(lot["manifest_sha256"]) == 64
    assert client.get("/api/v1/lots/(01)09506000134352(10)IS200-2609-001").get_json()["status"] == lot["status"]
    assert client.get("/api/v1/lots/NOPE").status_code == 404
