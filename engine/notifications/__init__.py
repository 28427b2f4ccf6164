"""Notifications through a transactional outbox: what to tell whom is written in the event's own
transaction (``outbox``); the worker delivers it later by email or webhook (``delivery``)."""
