"""Product, BOM and document drafts edited in the browser: field-level refusals naming the field
with the entries kept, every edit audited with its reason, the diff against the released revision,
files stored with their SHA-256 and shown inline; released revisions stay read-only."""
from __future__ import annotations

import hashlib

import pytest
from fpdf import FPDF
from sqlalchemy import select

from audit import SYSTEM
from audit.models import AuditEntry
from engine.masterdata import revisions
from engine.masterdata.models import Bom, Document, Product
from tests.web.conftest import csrf_token, make_app, make_persona, sign_in


def _pdf() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="SOP-001 leak test, rev C")
    return bytes(pdf.output())


@pytest.fixture()
def engineer(demo_db):
    with demo_db.sessions.begin() as s:
        drafts = {}
        for model, code in ((Product, "IS-200"), (Bom, None), (Document, "SOP-001")):
            master = (s.scalar(select(model).where(model.code == code)) if code else
                      s.scalar(select(Bom).join(Product, Product.item_id == Bom.item_id).where(Product.code == "IS-200")))
            drafts[model.__name__.lower()] = revisions.new_draft(s, SYSTEM, master, change_summary="page edit").id
    app = make_app(demo_db)
    client = app.test_client()
    assert sign_in(client, make_persona(demo_db, "pe")).status_code == 302
    yield client, drafts
    app.extensions["sealtrail.engine"].dispose()


def _entries(demo_db, action):
    with demo_db.sessions() as s:
        return s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()


def test_product_identity_with_a_checked_gtin(engineer, demo_db):
    client, drafts = engineer
    page = f"/drafts/product/{drafts['product']}"
    token = csrf_token(client, page)
    bad = client.post(page, data={"gtin": "06901234567891", "description": "kept", "reason": "new UDI",
                                  "csrf_token": token})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "check digit is 1, expected 2" in html and 'data-field="gtin"' in html
    assert ">kept</textarea>" in html
    bad = client.post(page, data={"gtin": "06901234567892", "shelf_life_months": "three", "reason": "x",
                                  "csrf_token": token})
    assert bad.status_code == 422 and 'data-field="shelf_life_months"' in bad.get_data(as_text=True)
    ok = client.post(page, data={"gtin": "06901234567892", "device_class": "IIb", "sterile": "on",
                                 "sterilisation_method": "EO", "shelf_life_months": "36", "description": "set",
                                 "reason": "class confirmed", "csrf_token": token})
    assert ok.status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert "shelf_life_months" in html and "class confirmed" not in html
    assert _entries(demo_db, "revision.edit_draft")[-1].reason == "class confirmed"


def test_bom_lines_added_changed_and_removed_on_the_draft(engineer, demo_db):
    client, drafts = engineer
    page = f"/drafts/bom/{drafts['bom']}"
    html = client.get(page).get_data(as_text=True)
    token = csrf_token(client, page)
    line_id = int(html.split('id="line-', 1)[1].split('"', 1)[0])
    bad = client.post(f"{page}/lines/{line_id}", data={"quantity": "2", "unit": "parsec", "tolerance_pct": "5",
                                                       "reason": "more", "csrf_token": token})
    assert bad.status_code == 422 and 'data-field="unit"' in bad.get_data(as_text=True)
    bad = client.post(f"{page}/lines/{line_id}", data={"quantity": "2", "unit": "pcs", "tolerance_pct": "120",
                                                       "reason": "more", "csrf_token": token})
    assert bad.status_code == 422 and "between 0 and 100 per cent" in bad.get_data(as_text=True)
    ok = client.post(f"{page}/lines/{line_id}", data={"quantity": "1", "unit": "pcs", "tolerance_pct": "2",
                                                      "reference": "", "notes": "", "reason": "losses measured",
                                                      "csrf_token": token})
    assert ok.status_code == 302, ok.get_data(as_text=True)
    assert "consumption tolerance 5 % → 2 %" in client.get(page).get_data(as_text=True)
    assert client.post(f"{page}/lines/{line_id}", data={"remove": "1", "reason": "", "csrf_token": token}
                       ).status_code == 422  # a reason is required
    gone = client.post(f"{page}/lines/{line_id}", data={"remove": "1", "reason": "no longer used",
                                                        "csrf_token": token})
    assert gone.status_code == 302 and "removed" in client.get(page).get_data(as_text=True)
    assert _entries(demo_db, "bom.remove_line")[-1].reason == "no longer used"


def test_document_text_and_pdf_stored_with_their_sha256_and_shown_inline(engineer, demo_db):
    client, drafts = engineer
    page = f"/drafts/document/{drafts['document']}"
    token = csrf_token(client, page)
    fake = client.post(page, data={"title": "Leak test", "body": "x", "reason": "scan", "csrf_token": token,
                                   "file": (__import__("io").BytesIO(b"MZ\x90\x00 not a pdf"), "scan.pdf")},
                       content_type="multipart/form-data")
    assert fake.status_code == 422 and "scan.pdf is not a PDF file" in fake.get_data(as_text=True)
    pdf = _pdf()
    body = "# Leak test\n\n1. Hold **10 s** before reading.\n\n<script>alert(1)</script>"
    ok = client.post(page, data={"title": "Leak test", "body": body, "reason": "hold time", "csrf_token": token,
                                 "file": (__import__("io").BytesIO(pdf), "SOP-001-C.pdf")},
                     content_type="multipart/form-data")
    assert ok.status_code == 302, ok.get_data(as_text=True)
    html = client.get(page).get_data(as_text=True)
    assert hashlib.sha256(pdf).hexdigest() in html
    assert "<strong>10 s</strong>" in html and "<script>alert(1)</script>" not in html  # raw HTML stays text
    assert "file_sha256 (file) → (file)" in html or "(file)" in html
    with demo_db.sessions() as s:
        code = s.get(Document, s.scalar(select(Document.id).where(Document.code == "SOP-001"))).code
    file_url = f"/masterdata/documents/{code}/file/{drafts['document']}"
    assert file_url in html
    served = client.get(file_url)
    assert served.status_code == 200 and served.mimetype == "application/pdf" and served.data == pdf
    assert served.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert client.get(f"/masterdata/documents/OTHER/file/{drafts['document']}").status_code == 404


def test_a_released_revision_is_not_edited(engineer, demo_db):
    client, _drafts = engineer
    with demo_db.sessions() as s:
        product = s.scalar(select(Product).where(Product.code == "IS-200"))
        released = revisions.effective_revision(s, product).id
    page = f"/drafts/product/{released}"
    assert "only a draft can be edited" in client.get(page).get_data(as_text=True)
    token = csrf_token(client, page)
    refused = client.post(page, data={"gtin": "06901234567892", "reason": "sneak", "csrf_token": token})
    assert refused.status_code == 422


@pytest.mark.parametrize("key", ["op", "qa", "auditor"])
def test_only_process_engineers_edit_drafts(demo_db, key):
    with demo_db.sessions.begin() as s:
        doc = s.scalar(select(Document).where(Document.code == "SOP-001"))
        rev_id = revisions.new_draft(s, SYSTEM, doc, change_summary="x").id
    app = make_app(demo_db)
    client = app.test_client()
    try:
        assert sign_in(client, make_persona(demo_db, key)).status_code == 302
        assert client.get(f"/drafts/document/{rev_id}").status_code == 403
        token = csrf_token(client, "/lots/")
        assert client.post(f"/drafts/document/{rev_id}", data={"title": "x", "reason": "y", "csrf_token": token}
                           ).status_code == 403
    finally:
        app.extensions["sealtrail.engine"].dispose()


def test_new_objects_start_with_a_first_draft(engineer, demo_db):
    client, _drafts = engineer
    assert 'id="new-object"' in client.get("/drafts/").get_data(as_text=True)
    token = csrf_token(client, "/drafts/new")
    bad = client.post("/drafts/new/document", data={"code": "SOP 009!", "title": "Pouch sealing",
                                                    "doc_type": "sop", "csrf_token": token})
    assert bad.status_code == 422 and 'data-field="code"' in bad.get_data(as_text=True)
    assert 'value="Pouch sealing"' in bad.get_data(as_text=True)
    made = client.post("/drafts/new/document", data={"code": "SOP-009", "title": "Pouch sealing", "doc_type": "sop",
                                                     "csrf_token": token})
    assert made.status_code == 302 and "/drafts/document/" in made.headers["Location"]
    with demo_db.sessions() as s:
        doc = s.scalar(select(Document).where(Document.code == "SOP-009"))
        assert [(r.label, r.state) for r in doc.revisions] == [("A", "draft")]
    taken = client.post("/drafts/new/routing", data={"code": "RT-X", "name": "Another drip routing",
                                                     "item": "NOPE",
                                                     "csrf_token": token})
    assert taken.status_code == 422 and 'data-field="item"' in taken.get_data(as_text=True)


def test_a_bom_and_a_document_draft_proposed_together(engineer, demo_db):
    from engine.workflows import deploy_all_shipped

    client, drafts = engineer
    with demo_db.sessions.begin() as s:
        deploy_all_shipped(s, SYSTEM)
    token = csrf_token(client, "/drafts/")
    index = client.get("/drafts/").get_data(as_text=True)
    assert f'href="/drafts/bom/{drafts["bom"]}"' in index and f'href="/drafts/document/{drafts["document"]}"' in index
    proposed = client.post("/drafts/propose", data={"rev": [f"bom:{drafts['bom']}", f"document:{drafts['document']}"],
                                                     "title": "Leak test hold and clamp losses", "reason": "audit",
                                                     "csrf_token": token})
    assert proposed.status_code == 302 and "/tasks/" in proposed.headers["Location"]
    task_page = client.get(proposed.headers["Location"]).get_data(as_text=True)
    assert "SOP-001" in task_page and "Leak test hold and clamp losses" in task_page
