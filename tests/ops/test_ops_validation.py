"""The validation kit: requirement list, evidence recording and the signed traceability matrix."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pypdf
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import ON_POSTGRES
from web.validation import matrix as mx
from web.validation import run as validation

ROOT = Path(__file__).resolve().parents[2]
REQUIRED_IDS = (
    [f"21CFR11.10({c})" for c in "abcdefghijk"]
    + ["21CFR11.50", "21CFR11.70", "21CFR11.100", "21CFR11.200", "21CFR11.300"]
    + [f"Annex11-{n}" for n in (4, 7, 8, 9, 12, 14)]
    + [f"ISO13485-{c}" for c in ("4.2.4", "4.2.5", "7.3.9", "7.5.1", "7.5.8", "7.5.9", "8.3",
                                 "8.5.2")]
)


def test_requirement_list_has_every_clause_the_kit_promises():
    requirements = mx.load_requirements(ROOT / validation.REQUIREMENTS)
    assert [r["id"] for r in requirements] == REQUIRED_IDS
    assert all(r["features"] for r in requirements)


def _t(nodeid, requirements, outcome, message=""):
    return {"nodeid": nodeid, "requirements": requirements, "outcome": outcome, "duration_s": 0.1,
            "message": message, "doc": ""}


FINISHED = {"exitstatus": 0, "finished": 1.0}


def test_matrix_statuses_and_verdict():
    reqs = [{"id": i, "source": "s", "clause": "c", "requirement": "r", "features": ["f"]}
            for i in ("A", "B", "C", "D", "E")]
    tests = [_t("t1", ["A"], "passed"), _t("t2", ["A", "B"], "failed", "assert 1 == 2"),
             _t("t3", ["C"], "skipped", "postgres only"), _t("t5", ["E"], "passed"),
             _t("t6", ["E"], "skipped", "postgres only")]
    m = mx.build(reqs, tests, {}, exitstatus=1, session=dict(FINISHED, exitstatus=1))
    assert [r["status"] for r in m["requirements"]] == ["fail", "fail", "not run", "not covered", "partial"]
    assert m["verdict"] == "FAIL"
    tests[1]["outcome"] = "passed"
    m = mx.build(reqs, tests, {}, exitstatus=0, session=FINISHED)
    assert [r["status"] for r in m["requirements"]] == ["pass", "pass", "not run", "not covered", "partial"]
    assert m["verdict"] == "PASS WITH GAPS" and m["run_problem"] is None
    # one passed test does not make a requirement whose other evidence was skipped "pass"
    shown = {t["nodeid"]: t for t in m["requirements"][4]["tests"]}
    assert shown["t6"]["outcome"] == mx.NOT_DEMONSTRATED == "not demonstrated on this database"
    tests.append(_t("t4", ["Z-typo"], "passed"))
    m = mx.build(reqs, tests, {}, exitstatus=0, session=FINISHED)
    assert m["unknown_requirement_ids"] == ["Z-typo"] and m["verdict"] == "FAIL"


@pytest.mark.parametrize("exitstatus, session, why", [
    (2, {"exitstatus": 2}, "abnormally (exit status 2"), (3, {"exitstatus": 3}, "exit status 3"),
    (4, {"exitstatus": 4}, "exit status 4"), (-9, {}, "did not finish (exit status -9"),
    (0, {}, "did not finish")])
def test_an_abnormal_or_unfinished_run_is_a_fail_whatever_passed(exitstatus, session, why):
    reqs = [{"id": "A", "source": "s", "clause": "c", "requirement": "r", "features": ["f"]}]
    m = mx.build(reqs, [_t("t1", ["A"], "passed")], {}, exitstatus=exitstatus, session=session)
    assert m["requirements"][0]["status"] == "pass"
    assert m["verdict"] == "FAIL" and why in m["run_problem"]


def test_a_run_killed_halfway_reports_fail_and_the_tests_it_never_ran(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_killed.py").write_text(textwrap.dedent('''
        import os
        import signal

        import pytest

        @pytest.mark.requirement("21CFR11.10(a)")
        def test_a_passes():
            assert 1 + 1 == 2

        @pytest.mark.requirement("Annex11-7")
        def test_b_is_killed():
            os.kill(os.getpid(), signal.SIGKILL)

        @pytest.mark.requirement("Annex11-7", "ISO13485-8.3")
        def test_c_never_runs():
            assert True
    '''))
    key = Ed25519PrivateKey.generate()
    matrix, files = validation.produce(
        source=ROOT, tests_path=str(suite), output_dir=tmp_path / "out", private_key=key,
        test_database_url=None, pytest_args=["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(suite)])
    assert matrix["verdict"] == "FAIL" and "did not finish" in matrix["run_problem"]
    assert matrix["pytest_exitstatus"] == -9
    rows = {r["id"]: r for r in matrix["requirements"]}
    assert rows["21CFR11.10(a)"]["status"] == "pass"  # its own evidence is fine, the run is not
    assert rows["ISO13485-8.3"]["status"] == "not run"
    assert matrix["test_outcomes"]["not run"] == 2
    assert "THE TEST RUN IS NOT VALID EVIDENCE" in "".join(
        page.extract_text() for page in pypdf.PdfReader(files["pdf"]).pages)
    assert json.loads(files["json"].read_text())["verdict"] == "FAIL"


def test_requirement_markers_sit_on_tests_not_on_modules_or_classes():
    """Each test names what it demonstrates; a file-wide marker would make every test evidence."""
    offenders = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        scopes = [tree, *[n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]]
        for scope in scopes:
            for node in scope.body:
                if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "pytestmark" for t in node.targets) \
                        and "requirement" in ast.unparse(node.value):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(scope, ast.ClassDef) and any("requirement" in ast.unparse(d) for d in scope.decorator_list):
                offenders.append(f"{path.relative_to(ROOT)}:{scope.lineno}")
    assert offenders == []


def test_traceability_and_manifestation_requirements_have_their_own_tests():
    """Annex 11 §8 and ISO 13485 7.5.9 map to the DHR/genealogy tests; §11.50 to tests that assert
    the manifestation (printed name, meaning, time) and nothing else that merely signs."""
    tagged = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef):
                for deco in node.decorator_list:
                    if "requirement" in ast.unparse(deco):
                        for arg in getattr(deco, "args", []):
                            tagged.setdefault(arg.value, set()).add(f"{path.stem}::{node.name}")
    assert "test_trace_dhr::test_pdf_opens_and_contains_chinese_text" in tagged["Annex11-8"]
    assert "test_trace_genealogy::test_recall_simulation_lists_every_finished_lot_reached" in tagged["ISO13485-7.5.9"]
    assert "test_audit_signatures::test_signing_outside_a_session_needs_every_component" in tagged["21CFR11.50"]
    assert not any(t.startswith("test_ops_clock::") for t in tagged["21CFR11.50"])


def test_duplicate_requirement_ids_are_refused(tmp_path):
    toml = tmp_path / "r.toml"
    entry = '[[requirement]]\nid = "X"\nsource = "s"\nclause = "c"\nrequirement = "r"\n'
    toml.write_text(entry + entry)
    with pytest.raises(ValueError, match="appears twice"):
        mx.load_requirements(toml)


@pytest.mark.slow
@pytest.mark.requirement("21CFR11.10(a)", "Annex11-4")
def test_report_runs_tagged_tests_and_writes_a_signed_matrix(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_sample.py").write_text(textwrap.dedent('''
        import pytest

        @pytest.mark.requirement("21CFR11.10(a)")
        def test_passes():
            """Detects an altered record."""
            assert True

        @pytest.mark.requirement("Annex11-7", "21CFR11.10(a)")
        def test_fails():
            assert 1 == 2

        @pytest.mark.requirement("ISO13485-8.3")
        def test_skipped():
            pytest.skip("needs PostgreSQL")

        def test_untagged_is_not_run():
            raise AssertionError("must be deselected")
    '''))
    key = Ed25519PrivateKey.generate()
    matrix, files = validation.produce(
        source=ROOT, tests_path=str(suite), output_dir=tmp_path / "out", private_key=key,
        test_database_url=None, pytest_args=["-c", str(ROOT / "pyproject.toml"),
                                             "--rootdir", str(suite)])
    rows = {r["id"]: r for r in matrix["requirements"]}
    assert rows["21CFR11.10(a)"]["status"] == "fail"  # one of its two tests failed
    assert rows["Annex11-7"]["status"] == "fail"
    assert rows["ISO13485-8.3"]["status"] == "not run"
    assert rows["21CFR11.50"]["status"] == "not covered"
    assert matrix["test_outcomes"] == {"passed": 1, "failed": 1, "error": 0, "skipped": 1, "not run": 0}
    assert matrix["verdict"] == "FAIL"
    assert matrix["environment"]["software_version"]
    assert ("PostgreSQL" if ON_POSTGRES else "SQLite") in matrix["environment"]["database"]

    html = files["html"].read_text()
    assert "21CFR11.10(a)" in html and "test_passes" in html and "Verdict" in html
    pdf_text = "".join(page.extract_text() for page in pypdf.PdfReader(files["pdf"]).pages)
    assert "Sealtrail requirements traceability matrix" in pdf_text and "ISO13485-8.3" in pdf_text
    assert json.loads(files["json"].read_text())["verdict"] == "FAIL"

    assert validation.verify_written(tmp_path / "out", key.public_key()) == []
    files["html"].write_text(html.replace("FAIL", "PASS"))
    assert validation.verify_written(tmp_path / "out", key.public_key()) == [
        f"{files['html'].name}: altered (SHA-256 differs)"]
    other = Ed25519PrivateKey.generate().public_key()
    assert any("signature" in p for p in validation.verify_written(tmp_path / "out", other))


@pytest.mark.slow
def test_every_requirement_marker_in_the_suite_names_a_known_requirement(tmp_path):
    out = tmp_path / "collected.jsonl"
    subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "requirement",
                    "-p", "web.validation.plugin", "-p", "no:cacheprovider", "tests"],
                   cwd=ROOT, env={**__import__("os").environ, "SEALTRAIL_VALIDATION_OUT": str(out)},
                   capture_output=True, check=False, timeout=120)
    collected = json.loads(out.read_text().splitlines()[0])["collected"]
    known = {r["id"] for r in mx.load_requirements(ROOT / validation.REQUIREMENTS)}
    cited = {rid: nodeid for nodeid, ids in collected.items() for rid in ids}
    assert cited, "no test carries the requirement marker"
    unknown = {rid: nodeid for rid, nodeid in cited.items() if rid not in known}
    assert not unknown, f"requirement ids not in docs/validation/requirements.toml: {unknown}"


def test_pdf_holds_a_requirement_with_hundreds_of_tests():
    from web.validation import render

    reqs = mx.load_requirements(ROOT / validation.REQUIREMENTS)
    tests = [{"nodeid": f"tests/x/test_{i:03d}.py::test_case_with_a_long_descriptive_name_{i}",
              "requirements": ["21CFR11.10(e)"], "outcome": "passed", "duration_s": 0.0,
              "message": "", "doc": ""} for i in range(300)]
    env = mx.environment(ROOT, "SQLite")
    m = mx.build(reqs, tests, env, exitstatus=0)
    key = Ed25519PrivateKey.generate()
    pdf = render.render_pdf(m, render.sign_matrix(m, key))
    import io

    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "294 more" in text and "test_case_with_a_long_descriptive_name_299" in text
