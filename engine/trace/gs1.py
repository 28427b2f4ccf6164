"""GS1 element strings: read what a scanner sends (with biip), build what a label prints.

Reading is biip's (PyPI ``biip``, pinned): its table of application identifiers, their formats
and patterns, where a variable-length field ends, the GTIN check digit and the symbology
identifiers all come from it. On top of biip we keep our own, stricter rules:

- only the AIs of a UDI are accepted (GS1 General Specifications §3.2): ``01`` GTIN (14 digits,
  mod-10 check digit), ``10`` batch/lot (up to 20, CSET 82), ``11`` production date and ``17``
  expiration date (YYMMDD; DD ``00`` = last day of the month), ``21`` serial number (up to 20,
  CSET 82). Anything else — an AI biip knows but we do not use, or no AI at all — is refused
  with the AI (or the position) named, so a wrong scan never silently becomes a lot number;
- an AI may appear once; a variable-length field that runs past its maximum is refused (biip
  would stop at the maximum and read the rest as the next AI);
- dates are checked against an injected ``today`` (biip's century window reads the wall clock,
  so its date check is switched off and ours, §7.12, applies).
Every refusal is a ValidationFailed on field ``gs1`` whose message names the AI and its title.

Accepted inputs: the bracketed human-readable form ``(01)…(10)…``, a raw element string with
FNC1 transmitted as ASCII GS (0x1D), optionally prefixed by the symbology identifier of a
symbology that carries GS1 element strings (``]C1`` GS1-128, ``]d2`` GS1 DataMatrix, ``]Q3``
GS1 QR, ``]e0`` GS1 DataBar, ``]J1`` GS1 DotCode). HIBC (``+…`` LIC/PAS) is not read: the biip
release we pin has no HIBC parser, and a HIBC primary carries no GTIN to find a unit by.

Building the label side (``elements_for``, ``hri``, ``element_string``) is composition, not
parsing, and stays here; it runs the same checks so a label can never print what a scan refuses.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field

from biip import ParseConfig, ParseError
from biip.checksums import gs1_standard_check_digit
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_element_strings import GS1ElementString
from biip.symbology import GS1Symbology, SymbologyIdentifier

from engine.errors import ValidationFailed

GS = "\x1d"
FNC1 = "\xf1"  # how python-barcode spells FNC1 inside a Code 128 data string
SYMBOLOGY_IDS = tuple(sorted("]" + s.value for s in GS1Symbology.with_gs1_messages()))

# The AIs we accept: AI -> (title, fixed length or None, max length, kind)
AIS: dict[str, tuple[str, int | None, int, str]] = {
    "01": ("GTIN", 14, 14, "gtin"),
    "10": ("BATCH/LOT", None, 20, "cset82"),
    "11": ("PROD DATE", 6, 6, "date"),
    "17": ("USE BY OR EXPIRY", 6, 6, "date"),
    "21": ("SERIAL", None, 20, "cset82"),
}
# biip's own date check would place YY with the wall clock; ours uses the injected ``today``.
_BIIP = ParseConfig(gs1_element_strings_verify_date=False, separator_chars=(GS,))
_CSET82 = re.compile(r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+$")
_BRACKETED = re.compile(r"\((\d{2,4})\)")  # the HRI notation: splits "(AI)value" pairs only


@dataclass(frozen=True)
class GS1Data:
    """The elements of one scanned or printed GS1 string (absent elements are None)."""

    gtin: str | None = None
    lot: str | None = None
    production_date: dt.date | None = None
    expiry_date: dt.date | None = None
    serial: str | None = None
    elements: tuple[tuple[str, str], ...] = field(default=())

    def as_dict(self) -> dict:
        return {"gtin": self.gtin, "lot": self.lot,
                "production_date": self.production_date.isoformat() if self.production_date else None,
                "expiry_date": self.expiry_date.isoformat() if self.expiry_date else None,
                "serial": self.serial, "hri": hri(self.elements)}


def gtin_check_digit(body: str) -> str:
    """The GS1 mod-10 check digit for ``body`` (all digits but the last)."""
    return str(gs1_standard_check_digit(body))


def looks_like_gs1(text: str) -> bool:
    """True when ``text`` is a GS1 element string rather than a plain lot number."""
    t = text.strip()
    return (t.startswith(SYMBOLOGY_IDS) or GS in t or FNC1 in t
            or bool(re.match(r"^\(\d{2,4}\)", t))
            or bool(re.match(r"^01\d{14}(1[01]|17|21)", t)))


def parse(text: str, *, today: dt.date | None = None) -> GS1Data:
    """Parse a GS1 element string (bracketed, or raw with GS separators); raise ValidationFailed."""
    raw = _without_symbology_id(text.strip()).replace(FNC1, GS).strip(GS)
    if not raw:
        raise ValidationFailed("empty GS1 string", field="gs1")
    today = today or dt.date.today()
    pairs = _split_bracketed(raw, today) if raw.startswith("(") else _split_raw(raw, today)
    return _build(pairs, today)


def _without_symbology_id(raw: str) -> str:
    for prefix in SYMBOLOGY_IDS:  # biip's list; its ISO table lacks DotCode's "J", so match here
        if raw.startswith(prefix):
            return raw[len(prefix):]
    if not raw.startswith("]"):
        return raw
    try:
        symbology = SymbologyIdentifier.extract(raw)
    except ParseError:
        raise ValidationFailed(f"unknown symbology identifier {raw[:3]!r}", field="gs1") from None
    raise ValidationFailed(f"symbology identifier {symbology.value} ({symbology.iso_symbology.name}) "
                           f"carries no GS1 element strings", field="gs1")


def _split_bracketed(raw: str, today: dt.date) -> list[tuple[str, str]]:
    parts = _BRACKETED.split(raw)
    if parts[0]:
        raise ValidationFailed(f"text before the first AI: {parts[0]!r}", field="gs1")
    pairs = []
    for ai, value in zip(parts[1::2], parts[2::2]):
        _supported(ai)
        element = _read(ai, ai + value, value, today, whole=True)
        pairs.append((ai, element.value))
    return pairs


def _split_raw(raw: str, today: dt.date) -> list[tuple[str, str]]:
    pairs, pos = [], 0
    while pos < len(raw):
        rest = raw[pos:]
        try:
            ai = GS1ApplicationIdentifier.extract(rest).ai
        except ParseError:
            raise ValidationFailed(f"no GS1 application identifier at position {pos}: {rest[:8]!r}",
                                   field="gs1") from None
        _supported(ai, pos)
        candidate = rest[len(ai):].split(GS, 1)[0]
        element = _read(ai, rest, candidate, today, whole=False)
        pos += len(element)
        while raw[pos:pos + 1] == GS:  # a separator after any field is allowed (GenSpec §7.8.6)
            pos += 1
        pairs.append((ai, element.value))
    return pairs


def _supported(ai: str, pos: int | None = None) -> None:
    if ai not in AIS:
        where = "" if pos is None else f" at position {pos}"
        raise ValidationFailed(f"unsupported GS1 application identifier ({ai}){where}", field="gs1")


def _read(ai: str, text: str, candidate: str, today: dt.date, *, whole: bool) -> GS1ElementString:
    """One element string read by biip; a refusal names the AI (our check's words where it has them).

    ``candidate`` is what the scan holds for the AI (up to the next separator): a variable field
    that biip ends early — at its maximum length or a character outside its pattern — would have
    its rest read as the next AI, so it is refused here instead.
    """
    title = AIS[ai][0]
    try:
        element = (GS1ElementString.parse if whole else GS1ElementString.extract)(text, config=_BIIP)
    except ParseError as exc:
        _check(ai, candidate, today)
        raise ValidationFailed(f"({ai}) {title} {candidate!r} is not valid: {exc}", field="gs1") from None
    if element.gtin_error:
        _check(ai, element.value, today)
        raise ValidationFailed(f"({ai}) {title} {element.value}: {element.gtin_error}", field="gs1")
    if AIS[ai][1] is None and element.value != candidate:
        _check(ai, candidate, today)
        raise ValidationFailed(f"({ai}) {title} {candidate!r} does not fit its format {element.ai.format}",
                               field="gs1")
    return element


def _build(pairs: list[tuple[str, str]], today: dt.date) -> GS1Data:
    values: dict[str, object] = {}
    seen: set[str] = set()
    for ai, value in pairs:
        if ai in seen:
            raise ValidationFailed(f"GS1 application identifier ({ai}) appears twice", field="gs1")
        seen.add(ai)
        values[ai] = _check(ai, value, today)
    return GS1Data(gtin=values.get("01"), lot=values.get("10"),  # type: ignore[arg-type]
                   production_date=values.get("11"), expiry_date=values.get("17"),  # type: ignore[arg-type]
                   serial=values.get("21"), elements=tuple(pairs))  # type: ignore[arg-type]


def _check(ai: str, value: str, today: dt.date):
    title, fixed, maxlen, kind = AIS[ai]
    where = f"({ai}) {title}"
    if fixed and len(value) != fixed:
        raise ValidationFailed(f"{where} must have {fixed} characters, got {len(value)}", field="gs1")
    if not value or len(value) > maxlen:
        raise ValidationFailed(f"{where} must have 1 to {maxlen} characters", field="gs1")
    if kind == "gtin":
        if not value.isdigit():
            raise ValidationFailed(f"{where} must be digits: {value!r}", field="gs1")
        if gtin_check_digit(value[:-1]) != value[-1]:
            raise ValidationFailed(f"{where} {value} has a wrong check digit "
                                   f"(expected {gtin_check_digit(value[:-1])})", field="gs1")
        return value
    if kind == "date":
        return _date(where, value, today)
    if not _CSET82.match(value):
        raise ValidationFailed(f"{where} has characters outside GS1 character set 82: {value!r}",
                               field="gs1")
    return value


def _date(where: str, value: str, today: dt.date) -> dt.date:
    if not value.isdigit():
        raise ValidationFailed(f"{where} must be YYMMDD: {value!r}", field="gs1")
    yy, mm, dd = int(value[:2]), int(value[2:4]), int(value[4:])
    year = _century(yy, today)
    if not 1 <= mm <= 12:
        raise ValidationFailed(f"{where} has month {mm:02d}", field="gs1")
    last = calendar.monthrange(year, mm)[1]
    if dd == 0:  # GS1: day 00 means the last day of the month
        dd = last
    if dd > last:
        raise ValidationFailed(f"{where} has day {dd:02d} in {year}-{mm:02d}", field="gs1")
    return dt.date(year, mm, dd)


def _century(yy: int, today: dt.date) -> int:
    """GS1 General Specifications §7.12: a sliding window of −49/+50 years around today."""
    current = today.year % 100
    century = today.year - current
    diff = yy - current
    if 51 <= diff <= 99:
        century -= 100
    elif -99 <= diff <= -50:
        century += 100
    return century + yy


def yymmdd(day: dt.date) -> str:
    return day.strftime("%y%m%d")


def elements_for(*, gtin: str | None, lot: str | None = None, production_date: dt.date | None = None,
                 expiry_date: dt.date | None = None, serial: str | None = None) -> list[tuple[str, str]]:
    """The AIs of a UDI in the order labels print them: 01, 11, 17, 10, 21 (variable ones last)."""
    out: list[tuple[str, str]] = []
    if gtin:
        out.append(("01", gtin.zfill(14)))
    if production_date:
        out.append(("11", yymmdd(production_date)))
    if expiry_date:
        out.append(("17", yymmdd(expiry_date)))
    if lot:
        out.append(("10", lot))
    if serial:
        out.append(("21", serial))
    for ai, value in out:
        _check(ai, value, production_date or dt.date.today())
    return out


def hri(elements) -> str:
    """Human-readable interpretation: ``(01)09506000134352(10)LOT1``."""
    return "".join(f"({ai}){value}" for ai, value in elements)


def element_string(elements, separator: str = GS) -> str:
    """The encoded data: variable-length fields are ended by ``separator`` unless last."""
    out = []
    for i, (ai, value) in enumerate(elements):
        out.append(ai + value)
        if AIS[ai][1] is None and i < len(elements) - 1:
            out.append(separator)
    return "".join(out)


def lot_number_from_scan(text: str) -> tuple[str, GS1Data | None]:
    """The lot number a user typed or scanned: AI (10) of a GS1 string, else the trimmed text."""
    if looks_like_gs1(text):
        data = parse(text)
        if not data.lot:
            raise ValidationFailed("the scanned GS1 string carries no batch/lot (10)", field="lot")
        return data.lot, data
    lot = text.strip()
    if not lot:
        raise ValidationFailed("a lot number is required", field="lot")
    return lot, None
