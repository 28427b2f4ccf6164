"""Data import: read CSV/Excel, cleanse (dry run with a report), apply as draft revisions."""
