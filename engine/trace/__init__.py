"""Traceability: genealogy, the Device History Record, KPIs, GS1 identifiers and data import."""
