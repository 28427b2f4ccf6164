"""Production records: lots and their pinned manifests, genealogy, executions, measurements, logs.

Use cases: ``lots`` (receive, plan, start, consume, complete, change status) and ``records``
(operations, measurements and corrections, inspections, equipment logs).
"""
