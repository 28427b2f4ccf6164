"""Translations: the committed catalogue is compiled and complete."""
from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests import catalogue

PO = Path("web/translations/zh_Hans_CN/LC_MESSAGES/messages.po")
MO = PO.with_suffix(".mo")


def test_compiled_catalogue_matches_the_po_file():
    with PO.open("rb") as fh:
        po = read_po(fh)
    with MO.open("rb") as fh:
        mo = read_mo(fh)
    def key(value):  # a plural's ids and forms are sequences
        return tuple(value) if isinstance(value, (list, tuple)) else value

    po_msgs = {key(m.id): key(m.string) for m in po if m.id and m.string}
    mo_msgs = {key(m.id): key(m.string) for m in mo if m.id}
    assert po_msgs == mo_msgs, "run `make translations` and commit the .mo file"


def test_every_message_the_pages_use_has_a_chinese_translation():
    """Extracted from the sources as ``pybabel extract`` does (babel.cfg), not from a committed .pot
    that can lag behind: a string wrapped in _() today without a zh entry fails here."""
    missing = [f"{m.id!r} ({m.locations[0]})" for m in catalogue.untranslated()]
    assert missing == [], "add zh translations to messages.po:\n" + "\n".join(missing)


def test_the_extraction_sees_the_pages_messages():
    ids = {m.id for m in catalogue.extracted()}
    # a template string, a Python gettext and a lazy (_l) navigation label
    assert {"Skip to content", "Sign and complete", "Audit trail"} <= ids
    assert len(ids) > 400


def test_a_chinese_page_showing_a_catalogue_message_in_english_is_caught():
    assert catalogue.english_in(["收件箱", "Inbox", "Times in UTC", "IS200-2610-003"]) == [
        "'Inbox' (msgid 'Inbox')", "'Times in UTC' (msgid 'Times in %(tz)s')"]
    # a placeholder stands for a value, not for more English words
    assert catalogue.english_in(["Lot sealed"]) == []  # not "Lot %(n)s"




def test_durations_read_in_human_units_in_both_languages(app):
    from flask_babel import force_locale

    from web.i18n import duration

    with app.test_request_context("/"):
        assert duration(65161.5, "min") == "45 d 6 h"
        assert duration(200, "min") == "3 h 20 min"
        assert duration(2.0, "h") == "2 h" and duration(12.2, "min") == "12 min"
        assert duration(0.004, "h") == "< 1 min" and duration(None) == "—" and duration(0, "d") == "0 min"
        assert duration(3.5, "d") == "3 d 12 h"
        with force_locale("zh_CN"):
            assert duration(65161.5, "min") == "45 天 6 小时"
