"""workflows (#14): a deploy may be routed through change control (a setting per process); a
change request carries the proposed diagram its implementation deploys.

Revision ID: 0010_i14b_deploy_cc
Revises: 0000_base
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from engine.db import UTCDateTime

revision = "0010_i14b_deploy_cc"
down_revision = "0000_base"
branch_labels = None
depends_on = ("0003_engine_workflows",)  # wf_process_version


def upgrade() -> None:
    op.create_table(
        "wf_deploy_route",
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("via_change_control", sa.Boolean(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("changed_by_id", sa.String(length=200), nullable=False),
        sa.Column("changed_by_name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("process_id", name=op.f("pk_wf_deploy_route")),
    )
    op.create_table(
        "change_deployments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_instance_id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("bpmn_xml", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("proposed_at", UTCDateTime(), nullable=False),
        sa.Column("proposed_by_id", sa.String(length=200), nullable=False),
        sa.Column("proposed_by_name", sa.String(length=200), nullable=False),
        sa.Column("process_version_id", sa.Integer(), nullable=True),
        sa.Column("deployed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["process_version_id"], ["wf_process_version.id"],
                                name=op.f("fk_change_deployments_process_version_id_wf_process_version")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_deployments")),
        sa.UniqueConstraint("process_instance_id", name=op.f("uq_change_deployments_process_instance_id")),
    )


def downgrade() -> None:
    op.drop_table("change_deployments")
    op.drop_table("wf_deploy_route")
