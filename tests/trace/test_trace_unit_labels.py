"""Unit labels (#18): each serialised unit's label carries its UDI with the serial (AI 21), as a
GS1-128 symbol that decodes to the same element string, and as text."""
from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from pypdf import PdfReader

from engine.errors import ValidationFailed
from engine.trace import barcode, genealogy, gs1, serials
from engine.trace import unit_labels as unit_labels_module
from engine.trace.unit_labels import render_labels_pdf, unit_labels
from tests.web.conftest import sign_in
from web.app import create_app
from web.cli import cli

LOT = "IS200-2609-001"  # the demo's finished lot: units IS2609000001 … IS2609001985


def test_each_label_carries_the_units_serial_in_its_udi(demo_db):
    with demo_db.sessions() as s:
        lot = genealogy.get_lot(s, LOT)
        labels = unit_labels(s, lot, first="IS2609000010", count=7)
        every = unit_labels(s, lot)
    assert len(every) == 1985 and every[0]["serial"] == "IS2609000001"
    assert [label["serial"] for label in labels] == [f"IS26090000{n}" for n in range(10, 17)]
    first = labels[0]
    assert first["hri"].startswith("(01)") and first["hri"].endswith(f"(10){LOT}(21)IS2609000010")
    assert dict(first["elements"])["21"] == "IS2609000010"
    scanned = gs1.parse(first["hri"])  # the same string a scanner reads resolves to the unit
    with demo_db.sessions() as s:
        hit = serials.get_serial(s, first["hri"])
        assert (hit.serial.serial, hit.lot.lot_number) == ("IS2609000010", LOT)
    assert scanned.serial == "IS2609000010"
    assert barcode.modules(first["elements"]) == barcode.modules(scanned.elements)  # the symbol = the text
    pdf = render_labels_pdf(labels, title="Unit labels")
    pages = PdfReader(io.BytesIO(pdf)).pages
    text = "".join(p.extract_text() for p in pages)
    assert len(pages) == 2  # six a page
    assert all(f"(21){label['serial']}" in text and f"SN {label['serial']}" in text for label in labels)


def test_labels_are_refused_with_the_field_named(demo_db, monkeypatch):
    with demo_db.sessions() as s:
        lot = genealogy.get_lot(s, LOT)
        for kwargs, field in (({"first": "NOPE"}, "first"), ({"count": 0}, "count")):
            with pytest.raises(ValidationFailed) as exc:
                unit_labels(s, lot, **kwargs)
            assert exc.value.field == field
        monkeypatch.setattr(unit_labels_module, "MAX_LABELS", 1000)  # 1,985 units: in two runs
        with pytest.raises(ValidationFailed, match="at most 1000") as exc:
            unit_labels(s, lot)
        assert exc.value.field == "count" and len(unit_labels(s, lot, count=1000)) == 1000
        purchased = genealogy.get_lot(s, "RCV-2609-001")
        with pytest.raises(ValidationFailed, match="GTIN|serials"):
            unit_labels(s, purchased)


def test_sealtrail_serials_labels_writes_the_pdf(demo_db, tmp_path):
    app = create_app({"TESTING": True}, settings=demo_db.settings())
    out = tmp_path / "labels.pdf"
    result = CliRunner().invoke(cli, ["serials", "labels", LOT, "--first", "IS2609001980", "-o", str(out)],
                                obj=ScriptInfo(create_app=lambda: app))
    app.extensions["sealtrail.engine"].dispose()
    assert result.exit_code == 0, result.output
    assert "6 label(s)" in result.output and out.read_bytes().startswith(b"%PDF")
    assert "(21)IS2609001985" in "".join(p.extract_text() for p in PdfReader(str(out)).pages)


def test_the_dhr_page_links_the_unit_labels(demo_db):
    app = create_app({"TESTING": True, "SESSION_COOKIE_SECURE": False}, settings=demo_db.settings())
    client = app.test_client()
    password = demo_db.demo.credentials()["zhao.min"].password
    assert sign_in(client, SimpleNamespace(username="zhao.min", password=password)).status_code == 302
    page = client.get(f"/trace/dhr/{LOT}").get_data(as_text=True)
    assert f"/trace/labels.pdf/{LOT}" in page
    response = client.get(f"/trace/labels.pdf/{LOT}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert len(PdfReader(io.BytesIO(response.data)).pages) == 331  # 1,985 units, six a page
    app.extensions["sealtrail.engine"].dispose()
