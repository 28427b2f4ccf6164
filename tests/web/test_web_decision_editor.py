"""Decision-table editor: role-restricted, validation with failing examples, trial runs, signed
deploy that redeploys the processes running the table, and a table diff."""
from __future__ import annotations

import json

from sqlalchemy import select

from audit.models import AuditEntry, Signature
from engine.workflows.models import DecisionVersion, ProcessVersion
from tests.web.conftest import PASSWORD, csrf_token, sign_in

ENGINE_BPMN = __import__("pathlib").Path(__file__).resolve().parents[1] / "engine" / "bpmn"
RISK = (ENGINE_BPMN / "t_risk.dmn").read_text()
TESTS = [{"id": "test_low", "given": '{"score": 2, "category": "label"}', "expect": '{"level": "low"}',
          "rule": "r_low"},
         {"id": "test_high", "given": '{"score": 7, "category": "sterility"}',
          "expect": '{"level": "high", "escalate": true}', "rule": "r_high"}]


def _deploy_risk(db):
    from audit import SYSTEM
    from engine.workflows import Document, deploy

    with db.sessions.begin() as s:
        deploy(s, SYSTEM, [Document("t_risk.dmn", RISK.encode()),
                           Document("risk.bpmn", (ENGINE_BPMN / "risk.bpmn").read_bytes())], comment="web tests")


def test_the_editor_is_for_process_engineers_and_qa_managers(app, client, fresh_db, personas, login):
    _deploy_risk(fresh_db)
    login(personas("op"))
    for path in ("/editor/decisions/", "/editor/decisions/t_risk", "/editor/decisions/t_risk/v1.dmn"):
        assert client.get(path).status_code == 403
    client = app.test_client()
    assert sign_in(client, personas("qa")).status_code == 302
    html = client.get("/editor/decisions/").get_data(as_text=True)
    assert "/editor/decisions/t_risk" in html and "UNIQUE" in html
    page = client.get("/editor/decisions/t_risk").get_data(as_text=True)
    assert json.loads(page.split('id="initial-tests">', 1)[1].split("</script>", 1)[0])[0]["id"] == "test_low"
    assert client.get("/editor/decisions/nothing").status_code == 404


def test_validate_reports_findings_and_failing_examples(client, fresh_db, personas, login):
    _deploy_risk(fresh_db)
    login(personas("pe"))
    token = csrf_token(client, "/editor/decisions/t_risk")

    def check(xml, tests):
        return client.post("/editor/decisions/t_risk/validate",
                           data={"xml": xml, "tests": json.dumps(tests), "csrf_token": token}).get_json()

    checked = check(RISK, TESTS)
    assert (checked["ok"], checked["problems"], checked["tests_passed"]) == (True, [], 2)
    assert [(w["element_id"], w["message"]) for w in checked["warnings"]] == [
        ("r_sterile_low", "rule r_sterile_low is not exercised by any example of the test sheet")]
    sterile = {"id": "test_sterile", "given": '{"score": 1, "category": "sterility"}', "expect": '{"level": "medium"}'}
    assert check(RISK, [*TESTS, sterile])["warnings"] == []
    overlap = RISK.replace('<inputEntry id="r_high_1"><text>&gt;= 5</text>', '<inputEntry id="r_high_1"><text>&gt;= 4</text>')
    found = check(overlap, TESTS)
    assert not found["ok"] and any("rules r_low and r_high overlap" in p["message"] for p in found["problems"])
    wrong = [dict(TESTS[0], expect='{"level": "high"}'), TESTS[1]]
    found = check(RISK, wrong)
    assert [p["message"] for p in found["problems"]] == [
        "test test_low: expected level = 'high', the table gives 'low' (rule r_low)"]
    found = check(RISK, [dict(TESTS[0], given="{not json")])
    assert found["problems"][0]["element_id"] == "tests[0].given" and "not JSON" in found["problems"][0]["message"]
    other = RISK.replace('<decision id="t_risk"', '<decision id="t_other"')
    assert "must hold the decision t_risk" in check(other, [])["problems"][0]["message"]


def test_try_gives_the_outputs_and_the_deciding_rule(client, fresh_db, personas, login):
    _deploy_risk(fresh_db)
    login(personas("pe"))
    token = csrf_token(client, "/editor/decisions/t_risk")
    tried = client.post("/editor/decisions/t_risk/try", data={"xml": RISK, "csrf_token": token,
                                                              "given": '{"score": 7, "category": "label"}'}).get_json()
    assert tried["ok"] and tried["rules"] == ["r_high"] and tried["outputs"] == {"level": "high", "escalate": True}
    gap = client.post("/editor/decisions/t_risk/try", data={"xml": RISK, "csrf_token": token,
                                                            "given": '{"score": 2, "category": "other"}'}).get_json()
    assert not gap["ok"] and "no rule matches" in gap["error"]
    assert not client.post("/editor/decisions/t_risk/try", data={"xml": RISK, "csrf_token": token,
                                                                 "given": "[1]"}).get_json()["ok"]


def test_deploy_is_signed_pins_the_processes_and_is_diffable(client, fresh_db, personas, login):
    _deploy_risk(fresh_db)
    pe = personas("pe")
    login(pe)
    token = csrf_token(client, "/editor/decisions/t_risk")
    edited = RISK.replace('<text>"high"</text>', '<text>"medium"</text>')
    tests = [TESTS[0], dict(TESTS[1], expect='{"level": "medium", "escalate": true}'),
             {"id": "test_label_high", "given": '{"score": 9, "category": "label"}', "expect": '{"level": "medium"}',
              "rule": ""}]
    form = {"xml": edited, "tests": json.dumps(tests), "comment": "", "csrf_token": token,
            "password": PASSWORD, "totp_code": pe.code()}
    no_comment = client.post("/editor/decisions/t_risk/deploy", data=form)
    assert no_comment.status_code == 422 and "comment is required" in no_comment.get_data(as_text=True)
    failing = client.post("/editor/decisions/t_risk/deploy", data=dict(form, comment="tone down", tests=json.dumps(TESTS)))
    assert failing.status_code == 422 and "test test_high: expected level = &#39;high&#39;" in failing.get_data(as_text=True)
    assert "test_label_high" not in failing.get_data(as_text=True)
    unchanged = client.post("/editor/decisions/t_risk/deploy", data=dict(form, xml=RISK, tests=json.dumps(TESTS),
                                                                         comment="same"))
    assert unchanged.status_code == 422 and "nothing to deploy" in unchanged.get_data(as_text=True)
    other = client.post("/editor/decisions/t_risk/deploy", data=dict(form, comment="x", xml=edited.replace(
        '<decision id="t_risk"', '<decision id="t_other"')))
    assert other.status_code == 422 and "must hold the decision t_risk (it holds: t_other)" in other.get_data(as_text=True)
    done = client.post("/editor/decisions/t_risk/deploy", data=dict(form, comment="high scores are medium now"))
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    with fresh_db.sessions() as s:
        v2 = s.scalars(select(DecisionVersion).where(DecisionVersion.decision_id == "t_risk",
                                                     DecisionVersion.version == 2)).one()
        assert 'id="test_label_high"' in v2.dmn_xml and v2.comment == "high scores are medium now"
        assert s.scalars(select(ProcessVersion.version).where(ProcessVersion.process_id == "t_risk_process")
                         .order_by(ProcessVersion.version)).all() == [1, 2]
        sig = s.scalars(select(Signature).where(Signature.record_id == "t_risk:v2")).one()
        assert sig.meaning == "approved" and sig.record_type == "decision_version"
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "workflow.decision_deployed",
                                                  AuditEntry.object_id.like("t_risk%"))).all()
    html = client.get("/editor/decisions/t_risk/diff?a=1&b=2").get_data(as_text=True)
    assert 'data-element-id="r_high"' in html and "then level: &#34;high&#34; → &#34;medium&#34;" in html
    assert 'data-element-id="test_label_high"' in html
    assert client.get("/editor/decisions/t_risk/diff?a=1&b=7").status_code == 404


def test_table_diff_kinds():
    from web.dmndiff import diff

    new = RISK.replace('hitPolicy="UNIQUE"', 'hitPolicy="FIRST"').replace(
        '<description>Low score</description>', '<description>Low scores</description>').replace(
        '<rule id="r_high">', '<rule id="r_extra"><inputEntry id="x1"><text>-</text></inputEntry>'
        '<inputEntry id="x2"><text>-</text></inputEntry><outputEntry id="x3"><text>"low"</text></outputEntry>'
        '<outputEntry id="x4"><text>False</text></outputEntry></rule><rule id="r_high">')
    changes = {(c.element_type, c.element_id): c.kind for c in diff(RISK, new)}
    assert changes == {("table", "t_risk"): "changed", ("rule", "r_low"): "changed",
                       ("rule", "r_extra"): "added", ("rule", "r_high"): "changed"}  # r_high moved down
    assert diff(RISK, RISK) == []
