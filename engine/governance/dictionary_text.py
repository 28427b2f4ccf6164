"""The data dictionary as Markdown (the document QA and IT hand to an auditor)."""
from __future__ import annotations

from engine.governance.dictionary import DataDictionary, TableEntry


def _cell(text) -> str:
    return str(text if text not in (None, "") else "—").replace("|", "\\|").replace("\n", " ")


def _flags(table: TableEntry) -> str:
    flags = [name for name, on in (("GxP record", table.gxp), ("audit-trailed", table.audit_trailed),
                                   ("append-only", table.append_only)) if on]
    personal = [c.name for c in table.columns if c.personal]
    if personal:
        flags.append(f"personal data: {', '.join(personal)}")
    return "; ".join(flags) or "not regulated"


def to_markdown(dictionary: DataDictionary, *, generated_at: str = "") -> str:
    """Every table and column as Markdown, the drift section first."""
    count = sum(len(t.columns) for t in dictionary.tables)
    out = ["# Sealtrail data dictionary", ""]
    out.append(f"{len(dictionary.tables)} tables, {count} columns"
               + (f", compared with the {dictionary.database} database" if dictionary.database else "")
               + (f"; generated {generated_at}" if generated_at else "") + ".")
    out += ["", "Masking rules on export: **keep** as stored; **pseudonym** keyed hash, stable within one "
            "package; **remove** left out; **scan** free text with user names replaced by pseudonyms.", ""]
    if dictionary.database:
        out += ["## Drift between the models and the database", ""]
        out += [f"- {line}" for line in dictionary.drift] or ["None: the database matches the models."]
        out.append("")
    if dictionary.undocumented:
        out += ["## Undocumented", ""] + [f"- {name}" for name in dictionary.undocumented] + [""]
    for table in dictionary.tables:
        out += [f"## {table.name}", "", _cell(table.meaning), ""]
        out.append(f"*{_flags(table)}.* Added in `{table.added_in or 'unknown'}`; application privileges: "
                   f"{', '.join(table.privileges) or 'none declared'}."
                   + (" **Not in the database.**" if table.in_database is False else ""))
        out += ["", "| Column | Type | Null | Unit | Allowed values | Meaning | Personal | Mask | Added in |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for c in table.columns:
            name = f"**{c.name}**" if c.primary_key else c.name
            if c.in_database is False:
                name += " (not in the database)"
            meaning = c.meaning + (f" → {c.references}" if c.references else "")
            out.append(" | ".join(["", name, _cell(c.type), "yes" if c.nullable else "no", _cell(c.unit),
                                   _cell(", ".join(c.allowed_values)), _cell(meaning),
                                   "yes" if c.personal else "", c.mask, _cell(c.added_in), ""]).strip())
        out.append("")
    return "\n".join(out)
