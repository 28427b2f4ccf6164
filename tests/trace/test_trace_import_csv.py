"""CSV import is RFC 4180: quotes, delimiters and newlines inside cells, BOMs; bad files refused by line."""
from __future__ import annotations

import pytest

from engine.errors import ValidationFailed
from engine.trace.importing import sheets

HEADER = "code,name,item_type,base_unit,purchased,specification\n"


def _items(tmp_path, body: str, header: str = HEADER, encoding: str = "utf-8"):
    (tmp_path / "items.csv").write_bytes((header + body).encode(encoding))
    return sheets.read_path(tmp_path / "items.csv").rows["items"]


def test_doubled_quotes_and_commas_inside_a_quoted_cell(tmp_path):
    rows = _items(tmp_path, 'C-1,"Luer lock, 1/4"" thread",component,pcs,yes,ISO 80369-7\n')
    assert rows[0].cells == {"code": "C-1", "name": 'Luer lock, 1/4" thread', "item_type": "component",
                             "base_unit": "pcs", "purchased": "yes", "specification": "ISO 80369-7"}


def test_newlines_inside_a_quoted_cell_and_crlf_line_ends(tmp_path):
    body = 'C-1,Tube,component,m,no,"first line\r\nsecond line"\r\nC-2,Cap,component,pcs,no,\r\n'
    rows = _items(tmp_path, body, header=HEADER.replace("\n", "\r\n"))
    assert [r.get("code") for r in rows] == ["C-1", "C-2"]
    assert rows[0].get("specification") == "first line\r\nsecond line"


def test_semicolons_with_a_bom_and_quoted_semicolons(tmp_path):
    header = "\ufeff" + HEADER.replace(",", ";")
    rows = _items(tmp_path, 'C-1;"Valve; one-way";component;pcs;yes;\n', header=header)
    assert rows[0].get("code") == "C-1" and rows[0].get("name") == "Valve; one-way"


def test_a_cell_over_128_kb_is_refused_with_its_line(tmp_path):
    big = "x" * (129 * 1024)
    with pytest.raises(ValidationFailed, match=r"items.csv line 3: a cell is longer than 128 KB"):
        _items(tmp_path, f"C-1,Tube,component,m,no,\nC-2,Cap,component,pcs,no,{big}\n")


def test_a_header_with_two_delimiters_is_refused_as_ambiguous(tmp_path):
    with pytest.raises(ValidationFailed, match="both comma and semicolon"):
        _items(tmp_path, "C-1;Tube,component;m\n", header="code;name,item_type;base_unit\n")


def test_an_unquoted_delimiter_that_shifts_columns_is_refused(tmp_path):
    with pytest.raises(ValidationFailed, match="record 2: 7 columns but the header has 6"):
        _items(tmp_path, "C-1,Luer lock, 1/4 thread,component,pcs,yes,ISO\n")


def test_malformed_quoting_and_other_encodings_are_refused_clearly(tmp_path):
    with pytest.raises(ValidationFailed, match="items.csv line 2"):
        _items(tmp_path, 'C-1,"Tube" x,component,m,no,\n')
    with pytest.raises(ValidationFailed, match="not UTF-8"):
        _items(tmp_path, "C-1,Röhre,component,m,no,\n", encoding="latin-1")
