"""Sealtrail engine: master data, production records, workflows and rules.

Depends on ``audit`` and nothing else of ours; never imports Flask.
"""
