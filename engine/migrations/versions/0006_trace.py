"""Traceability: import batches.

Revision ID: 0006_trace
Revises: 0000_base
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_trace"
down_revision = "0000_base"
branch_labels = ("trace",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_name", sa.String(300), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("applied_by", sa.String(200), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_import_batches"),
    )


def downgrade() -> None:
    op.drop_table("import_batches")
