"""Workflow runtime on SpiffWorkflow 3.2: deploy, run, persist, sign and audit.

The public API (what web/, the API, the worker and processes/ call)::

    validate_documents(session, documents) -> specs.Validation
    deploy(session, actor, documents, *, comment=None, skip_unchanged=False) -> DeployResult
    deploy_all_shipped(session, actor, directory=None) -> DeployResult
    start_instance(session, actor, process_id, *, data=None, business_key=None, user=None) -> ProcessInstance
    complete_task(session, *, user, task_id, data, totp_code, policy, password=None,
                  signing_session_id=None, comment=None, expected_instance_version=None) -> Completion
    claim / unclaim / reassign, get_task, open_tasks
    visible_tasks(session, user, **filters), can_see_task(user, row), can_see_instance(...)  (visibility)
    send_message(session, actor, name, payload, *, instance_id=None, business_key=None)
    fire_due_instance / record_timer_failure (per instance; the pass is web/cli/worker.py), fire_timers
    instance_history(session, instance_id)
    plan_migration(session, instance_id, target_version=None) -> MigrationPlan
    migrate_instances(session, *, user, instance_ids, target_version=None, reason, totp_code, policy,
                      password=None, signing_session_id=None) -> list[MigrationPlan]
    operations.operation("name") / operations.helper("name") to register domain code
"""
from engine.workflows.deploy import (DeployResult, deploy, deploy_all_shipped, get_latest_version,
                                     latest_version, list_versions, validate_documents)
from engine.workflows.events import (due_instances, fire_due_instance, fire_timers, record_timer_failure,
                                     send_message)
from engine.workflows.instances import (actor_of, get_instance, instance_history, open_tasks,
                                        start_instance, workflow_data)
from engine.workflows.migration import MigrationPlan, migrate_instances, plan_migration
from engine.workflows.models import (InstanceEvent, MessageWait, ProcessInstance, ProcessVersion,
                                     WorkflowTask)
from engine.workflows.operations import OperationContext, helper, operation
from engine.workflows.specs import Document
from engine.workflows.tasks import Completion, claim, complete_task, get_task, reassign, unclaim
from engine.workflows.visibility import can_see_instance, can_see_task, visible_tasks
from engine.workflows.xmlsafe import Problem

__all__ = [
    "Completion", "DeployResult", "MigrationPlan", "migrate_instances", "plan_migration", "Document", "InstanceEvent", "MessageWait", "OperationContext", "Problem",
    "ProcessInstance", "ProcessVersion", "WorkflowTask", "actor_of", "claim", "complete_task", "deploy",
    "deploy_all_shipped", "due_instances", "fire_timers", "get_instance", "get_latest_version", "get_task",
    "helper", "instance_history", "latest_version", "list_versions", "open_tasks", "operation",
    "can_see_instance", "can_see_task", "visible_tasks",
    "reassign", "fire_due_instance", "record_timer_failure", "send_message", "start_instance", "unclaim", "validate_documents",
    "workflow_data",
]
