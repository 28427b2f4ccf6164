"""The cleansing report: every finding names the sheet, line, column and what was wrong."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

SEVERITIES = ("error", "warning", "fixed")


@dataclass(frozen=True)
class Finding:
    """One problem (``error`` blocks ``--apply``), doubt (``warning``) or normalisation (``fixed``)."""

    severity: str
    check: str  # missing_field, duplicate, unit, unknown_reference, bom_cycle, implausible, format, formula
    kind: str
    line: int | None
    column: str | None
    message: str

    def as_dict(self) -> dict:
        return {"severity": self.severity, "check": self.check, "sheet": self.kind, "line": self.line,
                "column": self.column, "message": self.message}

    def __str__(self) -> str:
        where = self.kind + (f":{self.line}" if self.line else "") + (f" [{self.column}]" if self.column else "")
        return f"{self.severity.upper():7} {self.check:17} {where}: {self.message}"


@dataclass
class Report:
    """All findings of a dry run plus row counts; ``ok`` when nothing blocks the import."""

    source: str
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    def add(self, severity: str, check: str, row_or_kind, column: str | None, message: str) -> None:
        kind, line = (row_or_kind, None) if isinstance(row_or_kind, str) else (row_or_kind.kind, row_or_kind.line)
        self.findings.append(Finding(severity, check, kind, line, column, message))

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def by_check(self) -> dict[str, Counter]:
        out: dict[str, Counter] = {}
        for f in self.findings:
            out.setdefault(f.check, Counter())[f.severity] += 1
        return out

    def as_dict(self) -> dict:
        return {"source": self.source, "ok": self.ok, "counts": self.counts,
                "summary": {k: dict(v) for k, v in self.by_check().items()},
                "findings": [f.as_dict() for f in self.findings], "ignored": self.ignored}

    def as_text(self) -> str:
        lines = [f"Cleansing report for {self.source}",
                 "rows: " + ", ".join(f"{k} {n}" for k, n in self.counts.items() if n)]
        for check, sev in sorted(self.by_check().items()):
            lines.append(f"  {check}: " + ", ".join(f"{n} {s}" for s, n in sorted(sev.items())))
        lines += [str(f) for f in self.findings] + [f"NOTE    {m}" for m in self.ignored]
        lines.append("result: " + ("no blocking errors" if self.ok else f"{len(self.errors)} error(s) block --apply"))
        return "\n".join(lines)
