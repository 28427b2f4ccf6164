"""Auditor views: read-only, role-restricted, entries with before/after, history, signatures."""
from __future__ import annotations

import re

from sqlalchemy import select

from audit import Actor, chain
from audit.models import AuditEntry


def _seed(db):
    actor = Actor("user", "pat.engineer", "Pat <b>Engineer</b>")
    with db.sessions.begin() as s:
        chain.append(s, actor, "item.update", "item", "ITM-1", reason="<script>alert(1)</script>",
                     before={"name": "Screw", "spec": "M3"}, after={"name": "Screw", "spec": "M4", "finish": "zinc"})
        return s.scalar(select(AuditEntry.seq).where(AuditEntry.object_id == "ITM-1"))


def test_outsiders_get_403_on_every_auditor_page(client, fresh_db, personas, login):
    seq = _seed(fresh_db)
    login(personas("op"))
    for path in ("/audit/", f"/audit/entries/{seq}", "/audit/objects/item/ITM-1", "/audit/signatures",
                 "/audit/verify?run=1", "/audit/export"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "item.update" not in response.get_data(as_text=True)


def test_trail_search_and_entry_detail(client, fresh_db, personas, login):
    seq = _seed(fresh_db)
    login(personas("auditor"))
    html = client.get("/audit/?object_type=item&user=Pat").get_data(as_text=True)
    assert f"#{seq}" in html and "item.update" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    html = client.get("/audit/?object_type=item&user=nobody").get_data(as_text=True)
    assert f"#{seq}" not in html
    html = client.get(f"/audit/entries/{seq}").get_data(as_text=True)
    assert "diff-changed" in html and "diff-added" in html and "M4" in html and "zinc" in html
    assert "Pat &lt;b&gt;Engineer&lt;/b&gt;" in html
    assert client.get("/audit/entries/999999").status_code == 404


def test_object_history_and_signature_register(client, fresh_db, personas, login):
    _seed(fresh_db)
    auditor = personas("auditor")
    login(auditor)
    html = client.get("/audit/objects/item/ITM-1").get_data(as_text=True)
    assert "item.update" in html
    # enrolment signs the Part 11 acknowledgement: it is in the register with its manifestation
    html = client.get("/audit/signatures").get_data(as_text=True)
    register = html.split('id="signature-register"')[1]
    assert "Ada Auditor" in register and "Acknowledged" in register
    text = re.sub(r"<[^>]+>", " ", register)  # what the reader sees, not the links' paths
    assert "E-signature acknowledgement" in text and "esignature_acknowledgement" not in text
    assert "password+totp" not in text
    html = client.get("/audit/signatures?meaning=approved").get_data(as_text=True)
    assert "Ada Auditor" not in html.split('id="signature-register"')[1]
    assert client.get("/audit/objects/item/NOPE").status_code == 404


def test_auditor_pages_are_read_only(client, fresh_db, personas, login):
    login(personas("auditor"))
    response = client.post("/audit/", data={})
    assert response.status_code in (400, 405)


def test_qa_manager_may_read_the_trail(client, fresh_db, personas, login):
    login(personas("qa"))
    assert client.get("/audit/").status_code == 200


def test_chain_verification_and_export_download(client, fresh_db, personas, login):
    import io
    import zipfile

    _seed(fresh_db)
    login(personas("auditor"))
    html = client.get("/audit/verify?run=1").get_data(as_text=True)
    assert 'data-ok="true"' in html
    response = client.get("/audit/export")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert "manifest.json" in names and "entries.jsonl" in names  # flat, as verify_bundle.py reads it
    assert client.get("/audit/export?object_type=item&object_id=ITM-1").status_code == 200


def test_entry_diff_is_field_by_field_with_nested_fields_and_plain_values(client, fresh_db, personas, login):
    actor = Actor("user", "pat.engineer", "Pat Engineer")
    with fresh_db.sessions.begin() as s:
        chain.append(s, actor, "change.assessed", "change_request", "CC-1", reason="flag overridden: no labelling impact",
                     before={"flags": {"validation_required": True, "regulatory_notification_required": True},
                             "status": "submitted"},
                     after={"flags": {"validation_required": True, "regulatory_notification_required": False},
                            "status": "assessed", "lots": ["L-1", "L-2"]})
        seq = s.scalar(select(AuditEntry.seq).where(AuditEntry.object_id == "CC-1"))
    login(personas("auditor"))
    html = client.get(f"/audit/entries/{seq}").get_data(as_text=True)
    rows = {field: kind for kind, field in re.findall(r'<tr class="diff-(\w+)" data-field="([^"]+)">', html)}
    assert rows == {"flags.regulatory_notification_required": "changed", "flags.validation_required": "same",
                    "lots": "added", "status": "changed"}
    assert "flags › regulatory notification required" in html
    assert "L-1, L-2" in html and "[&#34;L-1&#34;" not in html and '"L-1"' not in html  # not JSON
