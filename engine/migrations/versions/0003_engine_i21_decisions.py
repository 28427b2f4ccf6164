"""engine: deployed DMN decision-table versions, and the table versions each process version pins
(both append-only on PostgreSQL, like the instance history).

Revision ID: 0003_engine_i21_decisions
Revises: 0003_engine_evidence_guard
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from engine.db import UTCDateTime

revision = "0003_engine_i21_decisions"
down_revision = "0003_engine_evidence_guard"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wf_decision_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("dmn_xml", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("hit_policy", sa.String(length=20), nullable=False),
        sa.Column("rule_count", sa.Integer(), nullable=False),
        sa.Column("deployed_at", UTCDateTime(), nullable=False),
        sa.Column("deployed_by_id", sa.String(length=200), nullable=False),
        sa.Column("deployed_by_name", sa.String(length=200), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wf_decision_version")),
        sa.UniqueConstraint("decision_id", "version", name=op.f("uq_wf_decision_version_decision_id_version")),
    )
    op.create_index(op.f("ix_wf_decision_version_decision_id"), "wf_decision_version", ["decision_id"])
    op.create_table(
        "wf_process_decision",
        sa.Column("process_version_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.String(length=200), nullable=False),
        sa.Column("decision_version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["decision_version_id"], ["wf_decision_version.id"],
                                name=op.f("fk_wf_process_decision_decision_version_id_wf_decision_version")),
        sa.ForeignKeyConstraint(["process_version_id"], ["wf_process_version.id"],
                                name=op.f("fk_wf_process_decision_process_version_id_wf_process_version")),
        sa.PrimaryKeyConstraint("process_version_id", "decision_id", name=op.f("pk_wf_process_decision")),
    )
    op.create_index(op.f("ix_wf_process_decision_decision_version_id"), "wf_process_decision",
                    ["decision_version_id"])
    if op.get_bind().dialect.name == "postgresql":
        for table in ("wf_decision_version", "wf_process_decision"):
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION wf_append_only()")
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_append_only")


def downgrade() -> None:
    op.drop_index(op.f("ix_wf_process_decision_decision_version_id"), table_name="wf_process_decision")
    op.drop_table("wf_process_decision")
    op.drop_index(op.f("ix_wf_decision_version_decision_id"), table_name="wf_decision_version")
    op.drop_table("wf_decision_version")
