"""workflows (#14): task form versions saved in the form builder (append-only, pinned by diagrams
as ``name@version``).

Revision ID: 0009_i14_form_versions
Revises: 0000_base
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from engine.db import UTCDateTime

revision = "0009_i14_form_versions"
down_revision = "0000_base"
branch_labels = None
depends_on = ("0003_engine_evidence_guard",)  # wf_append_only()


def upgrade() -> None:
    op.create_table(
        "wf_form_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("schema_json", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.String(length=200), nullable=False),
        sa.Column("created_by_name", sa.String(length=200), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wf_form_version")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_wf_form_version_name_version")),
    )
    op.create_index(op.f("ix_wf_form_version_name"), "wf_form_version", ["name"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER wf_form_version_append_only BEFORE UPDATE OR DELETE ON wf_form_version "
                   "FOR EACH ROW EXECUTE FUNCTION wf_append_only()")
        op.execute("ALTER TABLE wf_form_version ENABLE ALWAYS TRIGGER wf_form_version_append_only")


def downgrade() -> None:
    op.drop_index(op.f("ix_wf_form_version_name"), table_name="wf_form_version")
    op.drop_table("wf_form_version")
