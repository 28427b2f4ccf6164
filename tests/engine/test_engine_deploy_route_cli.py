"""``sealtrail bpmn deploy`` of a process routed through change control opens a change request (#14)."""
from __future__ import annotations

from pathlib import Path

from engine.processes.models import ChangeDeployment, ChangeRequest
from engine.workflows.deploy import list_versions

SHIPPED = Path(__file__).resolve().parents[2] / "bpmn"


def test_cli_deploy_of_a_routed_process_opens_a_change_request(tmp_path, run_cli, fresh_db, cli_engineer):
    from audit import SYSTEM
    from engine.workflows import deploy_all_shipped
    from engine.workflows.deploy import set_deploy_route

    _, engineer_id, signed = cli_engineer
    with fresh_db.sessions.begin() as s:
        assert not deploy_all_shipped(s, SYSTEM).problems
        set_deploy_route(s, SYSTEM, "deviation", via_change_control=True, reason="SOP-QA-012")
    edited = tmp_path / "deviation.bpmn"
    edited.write_text((SHIPPED / "deviation.bpmn").read_text(encoding="utf-8")
                      .replace('name="Triage and classify', 'name="Triage, classify', 1), encoding="utf-8")
    result = run_cli(["bpmn", "deploy", str(edited), "--comment", "clearer name", "--by", "pat.engineer"],
                     input=signed())
    assert result.exit_code == 0 and "change request CC-" in result.output, result.output
    with fresh_db.sessions() as s:
        assert [v.version for v in list_versions(s, "deviation")] == [1]  # not deployed: proposed
        [proposal] = s.query(ChangeDeployment).all()
        change = s.query(ChangeRequest).filter_by(process_instance_id=proposal.process_instance_id).one()
        assert change.status == "submitted" and change.number in result.output
        assert "Triage, classify" in proposal.bpmn_xml and proposal.proposed_by_id == str(engineer_id)
