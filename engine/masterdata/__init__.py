"""Versioned process master data: items, products, BOMs, routings, parameters, equipment, documents.

Use cases: ``catalog`` (create master rows and first drafts), ``revisions`` (draft → in_review →
released → obsolete; ``revisions.release`` is what change control calls), ``boms`` and
``routings`` (edit draft content), ``units`` (pint).
"""
