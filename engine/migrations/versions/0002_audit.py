"""audit: the hash-chained entries and the installation's genesis.

Revision ID: 0002_audit
Revises: 0000_base
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_audit"
down_revision = "0000_base"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_installation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("installation_id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("genesis_hash", sa.String(64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_installation_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_installation")),
        sa.UniqueConstraint("installation_id", name=op.f("uq_audit_installation_installation_id")),
    )
    op.create_table(
        "audit_entry",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("recorded_at", sa.String(32), nullable=False),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(200), nullable=False),
        sa.Column("actor_name", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("object_type", sa.String(100), nullable=False),
        sa.Column("object_id", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_audit_entry_seq_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_entry_seq")),
        sa.UniqueConstraint("event_id", name=op.f("uq_audit_entry_event_id")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_audit_entry_prev_hash")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_entry_hash")),
    )
    op.create_index("ix_audit_entry_object", "audit_entry", ["object_type", "object_id"])
    op.create_index(op.f("ix_audit_entry_action"), "audit_entry", ["action"])
    op.create_index(op.f("ix_audit_entry_recorded_at"), "audit_entry", ["recorded_at"])


def downgrade() -> None:
    op.drop_table("audit_entry")
    op.drop_table("audit_installation")
