"""Production signals in: alarms, measurements, process-control rules (limits, SPC), idempotency.

Everything here runs the same from the JSON API, the MQTT bridge, the CLI and the tests: it
takes a SQLAlchemy session, flushes, and never commits.
"""
