"""engine: completed task rows (the evidence of a signed completion) and instance history are
write-once on PostgreSQL, for raw SQL too (the one write allowed after completion is filling in
the audit sequence number once, in the completing transaction).

Revision ID: 0003_engine_evidence_guard
Revises: 0003_engine_workflows
Create Date: 2026-11-26
"""
from alembic import op

revision = "0003_engine_evidence_guard"
down_revision = "0003_engine_workflows"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION wf_task_evidence_guard() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN IF OLD.state = 'completed' AND NOT (TG_OP = 'UPDATE' AND OLD.audit_seq IS NULL "
        "AND to_jsonb(NEW) - 'audit_seq' = to_jsonb(OLD) - 'audit_seq') THEN "
        "RAISE EXCEPTION 'completed task % is signed evidence and cannot be changed (%)', OLD.id, TG_OP; "
        "END IF; IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$")
    op.execute("CREATE TRIGGER wf_task_evidence BEFORE UPDATE OR DELETE ON wf_task "
               "FOR EACH ROW EXECUTE FUNCTION wf_task_evidence_guard()")
    op.execute("ALTER TABLE wf_task ENABLE ALWAYS TRIGGER wf_task_evidence")
    op.execute(
        "CREATE FUNCTION wf_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION '% is append-only (%)', TG_TABLE_NAME, TG_OP; END $$")
    op.execute("CREATE TRIGGER wf_instance_event_append_only BEFORE UPDATE OR DELETE ON wf_instance_event "
               "FOR EACH ROW EXECUTE FUNCTION wf_append_only()")
    op.execute("CREATE TRIGGER wf_instance_event_no_truncate BEFORE TRUNCATE ON wf_instance_event "
               "FOR EACH STATEMENT EXECUTE FUNCTION wf_append_only()")
    op.execute("CREATE TRIGGER wf_task_no_truncate BEFORE TRUNCATE ON wf_task "
               "FOR EACH STATEMENT EXECUTE FUNCTION wf_append_only()")
    for trigger, table in (("wf_instance_event_append_only", "wf_instance_event"),
                           ("wf_instance_event_no_truncate", "wf_instance_event"),
                           ("wf_task_no_truncate", "wf_task")):
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {trigger}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for trigger, table in (("wf_task_evidence", "wf_task"), ("wf_task_no_truncate", "wf_task"),
                           ("wf_instance_event_append_only", "wf_instance_event"),
                           ("wf_instance_event_no_truncate", "wf_instance_event")):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS wf_task_evidence_guard()")
    op.execute("DROP FUNCTION IF EXISTS wf_append_only()")
