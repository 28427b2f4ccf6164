"""engine: process versions, instances, the inbox task table, instance history, message waits.

On PostgreSQL a trigger refuses UPDATE and DELETE of deployed process versions (immutable).

Revision ID: 0003_engine_workflows
Revises: 0000_base
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_engine_workflows"
down_revision = "0000_base"
branch_labels = None
depends_on = ("0001_foundation",)

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "wf_process_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("file_name", sa.String(300), nullable=False),
        sa.Column("bpmn_xml", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("spec_json", sa.Text(), nullable=False),
        sa.Column("spiff_version", sa.String(20), nullable=False),
        sa.Column("serializer_version", sa.String(10), nullable=False),
        sa.Column("deployed_at", TS, nullable=False),
        sa.Column("deployed_by_id", sa.String(200), nullable=False),
        sa.Column("deployed_by_name", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wf_process_version")),
        sa.UniqueConstraint("process_id", "version", name=op.f("uq_wf_process_version_process_id_version")),
    )
    op.create_index(op.f("ix_wf_process_version_process_id"), "wf_process_version", ["process_id"])
    op.create_table(
        "wf_instance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_version_id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(200), nullable=False),
        sa.Column("business_key", sa.String(120), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("state_json", sa.Text(), nullable=False),
        sa.Column("spiff_version", sa.String(20), nullable=False),
        sa.Column("serializer_version", sa.String(10), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("started_by_id", sa.String(200), nullable=False),
        sa.Column("started_by_name", sa.String(200), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("next_timer_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('running', 'waiting', 'completed', 'error', 'cancelled')",
                           name=op.f("ck_wf_instance_status")),
        sa.ForeignKeyConstraint(["process_version_id"], ["wf_process_version.id"],
                                name=op.f("fk_wf_instance_process_version_id_wf_process_version")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wf_instance")),
    )
    for col in ("process_version_id", "process_id", "business_key", "next_timer_at"):
        op.create_index(op.f(f"ix_wf_instance_{col}"), "wf_instance", [col])
    op.create_table(
        "wf_task",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(200), nullable=False),
        sa.Column("process_version_id", sa.Integer(), nullable=False),
        sa.Column("spec_name", sa.String(200), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("lane", sa.String(32), nullable=True),
        sa.Column("form", sa.String(200), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("due_at", TS, nullable=True),
        sa.Column("business_key", sa.String(120), nullable=True),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("completed_by_id", sa.Integer(), nullable=True),
        sa.Column("completed_by_name", sa.String(200), nullable=True),
        sa.Column("payload_json", sa.Text(), nullable=True),
        sa.Column("payload_sha256", sa.String(64), nullable=True),
        sa.Column("meaning", sa.String(40), nullable=True),
        sa.Column("signature_id", sa.String(36), nullable=True),
        sa.Column("audit_seq", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("state IN ('ready', 'completed', 'cancelled')", name=op.f("ck_wf_task_state")),
        sa.ForeignKeyConstraint(["instance_id"], ["wf_instance.id"], name=op.f("fk_wf_task_instance_id_wf_instance")),
        sa.ForeignKeyConstraint(["process_version_id"], ["wf_process_version.id"],
                                name=op.f("fk_wf_task_process_version_id_wf_process_version")),
        sa.ForeignKeyConstraint(["assignee_id"], ["users.id"], name=op.f("fk_wf_task_assignee_id_users")),
        sa.ForeignKeyConstraint(["completed_by_id"], ["users.id"], name=op.f("fk_wf_task_completed_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wf_task")),
    )
    op.create_index(op.f("ix_wf_task_instance_id"), "wf_task", ["instance_id"])
    op.create_index(op.f("ix_wf_task_business_key"), "wf_task", ["business_key"])
    op.create_index("ix_wf_task_state_lane", "wf_task", ["state", "lane"])
    op.create_index("ix_wf_task_assignee_state", "wf_task", ["assignee_id", "state"])
    op.create_table(
        "wf_instance_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("actor_id", sa.String(200), nullable=False),
        sa.Column("actor_name", sa.String(200), nullable=False),
        sa.Column("task_id", sa.String(36), nullable=True),
        sa.Column("detail_json", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["wf_instance.id"],
                                name=op.f("fk_wf_instance_event_instance_id_wf_instance")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wf_instance_event")),
    )
    op.create_index(op.f("ix_wf_instance_event_instance_id"), "wf_instance_event", ["instance_id"])
    op.create_table(
        "wf_message_wait",
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("message_name", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["wf_instance.id"],
                                name=op.f("fk_wf_message_wait_instance_id_wf_instance")),
        sa.PrimaryKeyConstraint("instance_id", "message_name", name=op.f("pk_wf_message_wait")),
    )
    op.create_index(op.f("ix_wf_message_wait_message_name"), "wf_message_wait", ["message_name"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION wf_process_version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'deployed process versions are immutable (% of %)', TG_OP, TG_TABLE_NAME; END $$")
        op.execute("CREATE TRIGGER wf_process_version_guard BEFORE UPDATE OR DELETE ON wf_process_version "
                   "FOR EACH ROW EXECUTE FUNCTION wf_process_version_immutable()")
        op.execute("CREATE TRIGGER wf_process_version_no_truncate BEFORE TRUNCATE ON wf_process_version "
                   "FOR EACH STATEMENT EXECUTE FUNCTION wf_process_version_immutable()")
        op.execute("ALTER TABLE wf_process_version ENABLE ALWAYS TRIGGER wf_process_version_guard")
        op.execute("ALTER TABLE wf_process_version ENABLE ALWAYS TRIGGER wf_process_version_no_truncate")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS wf_process_version_guard ON wf_process_version")
        op.execute("DROP TRIGGER IF EXISTS wf_process_version_no_truncate ON wf_process_version")
        op.execute("DROP FUNCTION IF EXISTS wf_process_version_immutable()")
    for table in ("wf_message_wait", "wf_instance_event", "wf_task", "wf_instance", "wf_process_version"):
        op.drop_table(table)
