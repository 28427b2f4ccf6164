"""pytest plugin: records each test's requirement ids and outcome as JSON Lines.

Loaded with ``-p web.validation.plugin``; writes to the file named by ``SEALTRAIL_VALIDATION_OUT``.
"""
from __future__ import annotations

import json
import os
import time

import pytest

_OUT = "SEALTRAIL_VALIDATION_OUT"


def requirement_ids(item) -> list[str]:
    """Every id given to ``@pytest.mark.requirement`` on the test, its class or its module."""
    ids: list[str] = []
    for mark in item.iter_markers(name="requirement"):
        for value in mark.args:
            for rid in ([value] if isinstance(value, str) else value):
                if rid not in ids:
                    ids.append(rid)
    return ids


class Recorder:
    def __init__(self, path: str):
        self.path = path
        self.results: dict[str, dict] = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        entry = self.results.setdefault(item.nodeid, {
            "nodeid": item.nodeid, "requirements": requirement_ids(item), "outcome": "passed",
            "duration_s": 0.0, "message": "", "doc": (item.obj.__doc__ or "").strip()
            if hasattr(item, "obj") else "",
        })
        entry["duration_s"] = round(entry["duration_s"] + report.duration, 3)
        if report.skipped:
            entry["outcome"] = "skipped"
            entry["message"] = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) \
                else str(report.longrepr or "")
        elif report.failed:
            entry["outcome"] = "error" if report.when != "call" else "failed"
            entry["message"] = (report.longreprtext or "").strip().splitlines()[-1:][0] \
                if report.longreprtext else report.when

    def pytest_collection_finish(self, session):
        self.collected = {item.nodeid: requirement_ids(item) for item in session.items}

    def pytest_sessionfinish(self, session, exitstatus):
        with open(self.path, "w", encoding="utf-8") as fh:
            fh.write(json.dumps({"collected": getattr(self, "collected", {})}) + "\n")
            for entry in self.results.values():
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
            fh.write(json.dumps({"session": {"exitstatus": int(exitstatus),
                                             "finished": time.time()}}) + "\n")


def pytest_configure(config):
    path = os.environ.get(_OUT)
    if path:
        config.pluginmanager.register(Recorder(path), "sealtrail-validation-recorder")
