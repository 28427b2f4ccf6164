"""The validation kit: requirement list, the pytest plugin that records evidence, the report.

``sealtrail validation-report`` runs every test marked ``@pytest.mark.requirement(...)`` and
writes a dated, signed traceability matrix (requirement → tests → outcome, software version,
environment) as HTML, PDF and JSON: evidence for an IQ/OQ (FDA CSA guidance, Annex 11 §4).
"""
