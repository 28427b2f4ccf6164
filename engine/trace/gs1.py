"""GS1 element strings: parse what a scanner sends, build what a label prints.

Supported application identifiers (GS1 General Specifications §3.2):
``01`` GTIN (14 digits, mod-10 check digit), ``10`` batch/lot (up to 20, CSET 82),
``11`` production date and ``17`` expiration date (YYMMDD; DD ``00`` = last day of the month),
``21`` serial number (up to 20, CSET 82). Anything else is refused with its AI named, so a
wrong scan never silently becomes a lot number.

Accepted inputs: the bracketed human-readable form ``(01)…(10)…``, a raw element string with
FNC1 transmitted as ASCII GS (0x1D), optionally prefixed by a symbology identifier (``]C1``
GS1-128, ``]d2`` GS1 DataMatrix, ``]Q3`` GS1 QR, ``]e0`` GS1 DataBar).
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field

from engine.errors import ValidationFailed

GS = "\x1d"
FNC1 = "\xf1"  # how python-barcode spells FNC1 inside a Code 128 data string
SYMBOLOGY_IDS = ("]C1", "]d2", "]Q3", "]e0", "]J1")

# AI -> (title, fixed length or None, max length, kind)
AIS: dict[str, tuple[str, int | None, int, str]] = {
    "01": ("GTIN", 14, 14, "gtin"),
    "10": ("BATCH/LOT", None, 20, "cset82"),
    "11": ("PROD DATE", 6, 6, "date"),
    "17": ("USE BY OR EXPIRY", 6, 6, "date"),
    "21": ("SERIAL", None, 20, "cset82"),
}
_CSET82 = re.compile(r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+$")
_BRACKETED = re.compile(r"\((\d{2,4})\)")


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
    total = sum(int(ch) * (3 if i % 2 == 0 else 1) for i, ch in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def looks_like_gs1(text: str) -> bool:
    """True when ``text`` is a GS1 element string rather than a plain lot number."""
    t = text.strip()
    return (t.startswith(SYMBOLOGY_IDS) or GS in t or FNC1 in t
            or bool(re.match(r"^\(\d{2,4}\)", t))
            or bool(re.match(r"^01\d{14}(1[01]|17|21)", t)))


def parse(text: str, *, today: dt.date | None = None) -> GS1Data:
    """Parse a GS1 element string (bracketed, or raw with GS separators); raise ValidationFailed."""
    raw = text.strip()
    for prefix in SYMBOLOGY_IDS:
        if raw.startswith(prefix):
            raw = raw[len(prefix):]
            break
    raw = raw.replace(FNC1, GS).strip(GS)
    if not raw:
        raise ValidationFailed("empty GS1 string", field="gs1")
    pairs = _split_bracketed(raw) if raw.startswith("(") else _split_raw(raw)
    return _build(pairs, today or dt.date.today())


def _split_bracketed(raw: str) -> list[tuple[str, str]]:
    parts = _BRACKETED.split(raw)
    if parts[0]:
        raise ValidationFailed(f"text before the first AI: {parts[0]!r}", field="gs1")
    return [(parts[i], parts[i + 1]) for i in range(1, len(parts), 2)]


def _split_raw(raw: str) -> list[tuple[str, str]]:
    pairs, pos = [], 0
    while pos < len(raw):
        ai = raw[pos:pos + 2]
        if ai not in AIS:
            raise ValidationFailed(f"unsupported GS1 application identifier ({ai}) at position {pos}",
                                   field="gs1")
        _, fixed, _, _ = AIS[ai]
        pos += 2
        if fixed:
            value, pos = raw[pos:pos + fixed], pos + fixed
            if raw[pos:pos + 1] == GS:  # a superfluous separator after a fixed field is tolerated
                pos += 1
        else:
            end = raw.find(GS, pos)
            end = len(raw) if end < 0 else end
            value, pos = raw[pos:end], end + 1
        pairs.append((ai, value))
    return pairs


def _build(pairs: list[tuple[str, str]], today: dt.date) -> GS1Data:
    values: dict[str, object] = {}
    seen: set[str] = set()
    for ai, value in pairs:
        if ai not in AIS:
            raise ValidationFailed(f"unsupported GS1 application identifier ({ai})", field="gs1")
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
