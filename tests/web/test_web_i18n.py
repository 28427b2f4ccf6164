"""Translations: the committed catalogue is compiled and complete."""
from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

PO = Path("web/translations/zh_Hans_CN/LC_MESSAGES/messages.po")
MO = PO.with_suffix(".mo")
POT = Path("web/translations/messages.pot")


def test_compiled_catalogue_matches_the_po_file():
    with PO.open("rb") as fh:
        po = read_po(fh)
    with MO.open("rb") as fh:
        mo = read_mo(fh)
    po_msgs = {m.id: m.string for m in po if m.id and m.string}
    mo_msgs = {m.id: m.string for m in mo if m.id}
    assert po_msgs == mo_msgs, "run `make translations` and commit the .mo file"


def test_every_message_is_translated():
    with POT.open("rb") as fh:
        pot = read_po(fh)
    with PO.open("rb") as fh:
        po = read_po(fh)
    untranslated = [m.id for m in pot if m.id and not (po.get(m.id) and po.get(m.id).string)]
    assert untranslated == []
