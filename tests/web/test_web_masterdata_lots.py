"""Master data and lot pages over the demo plant: browse, BOM tree, compare revisions, drafts,
calibration status, measurements judged against their limits."""
from __future__ import annotations

import re

from tests.web.conftest import csrf_token, make_app, make_persona, sign_in


def _client(demo_db, key):
    app = make_app(demo_db)
    client = app.test_client()
    persona = make_persona(demo_db, key)
    assert sign_in(client, persona).status_code == 302
    return app, client


def test_master_data_pages(demo_db):
    app, client = _client(demo_db, "pe")
    for kind in ("products", "boms", "routings", "documents", "equipment"):
        response = client.get(f"/masterdata/?kind={kind}")
        assert response.status_code == 200, kind
    html = client.get("/masterdata/?kind=equipment").get_data(as_text=True)
    assert "LT-01" in html and "overdue" in html  # the demo's leak tester is past its calibration
    boms = client.get("/masterdata/?kind=boms").get_data(as_text=True)
    code = re.search(r'/masterdata/boms/([^"]+)"', boms).group(1)
    html = client.get(f"/masterdata/boms/{code}").get_data(as_text=True)
    assert 'id="bom-tree"' in html
    docs = client.get("/masterdata/?kind=documents").get_data(as_text=True)
    assert "SOP-001" in docs
    html = client.get("/masterdata/documents/SOP-001").get_data(as_text=True)
    ids = re.findall(r'name="a" value="(\d+)"', html)
    assert len(ids) >= 2  # SOP-001 has revisions
    html = client.get(f"/masterdata/documents/SOP-001/compare?a={ids[-1]}&b={ids[0]}").get_data(as_text=True)
    assert 'id="compare"' in html
    token = csrf_token(client, "/masterdata/documents/SOP-001")
    response = client.post("/masterdata/documents/SOP-001/draft", data={"change_summary": "Clarify step 4",
                                                                       "csrf_token": token})
    assert response.status_code == 302 and "rev=" in response.headers["Location"]
    assert "draft" in client.get(response.headers["Location"]).get_data(as_text=True)
    app.extensions["sealtrail.engine"].dispose()


def test_only_process_engineers_create_drafts(demo_db):
    app, client = _client(demo_db, "auditor")
    token = csrf_token(client, "/masterdata/documents/SOP-001")
    assert "New draft revision" not in client.get("/masterdata/documents/SOP-001").get_data(as_text=True)
    response = client.post("/masterdata/documents/SOP-001/draft", data={"change_summary": "x", "csrf_token": token})
    assert response.status_code == 403
    app.extensions["sealtrail.engine"].dispose()


def test_lot_pages_judge_measurements(demo_db):
    app, client = _client(demo_db, "qa")
    html = client.get("/lots/").get_data(as_text=True)
    assert "IS200-2610-002" in html
    html = client.get("/lots/IS200-2610-002").get_data(as_text=True)
    assert "out of specification" in html
    assert client.get("/lots/NO-SUCH-LOT").status_code == 404
    app.extensions["sealtrail.engine"].dispose()
