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
    """Every id given to ``@pytest.mark.requirement`` on the test function itself.

    Module- and class-wide markers are ignored on purpose: a marker on a file made every test in
    it count as evidence for every requirement listed, whatever the test proved.
    """
    ids: list[str] = []
    for mark in item.own_markers:
        if mark.name != "requirement":
            continue
        for value in mark.args:
            for rid in ([value] if isinstance(value, str) else value):
                if rid not in ids:
                    ids.append(rid)
    return ids


class Recorder:
    """Writes as it goes (one line per finished test, flushed), so a run killed halfway leaves
    the evidence it produced and no session line: the matrix then says the run did not finish."""

    def __init__(self, path: str):
        self.path = path
        self.fh = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed at session finish)
        self.results: dict[str, dict] = {}

    def _write(self, entry: dict) -> None:
        self.fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.fh.flush()

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
        if report.when == "teardown":
            self._write(self.results[item.nodeid])

    def pytest_collection_finish(self, session):
        self._write({"collected": {item.nodeid: requirement_ids(item) for item in session.items}})

    def pytest_sessionfinish(self, session, exitstatus):
        self._write({"session": {"exitstatus": int(exitstatus), "finished": time.time()}})
        self.fh.close()


def pytest_configure(config):
    path = os.environ.get(_OUT)
    if path:
        config.pluginmanager.register(Recorder(path), "sealtrail-validation-recorder")
