"""foundation: signed, time-boxed delegations of roles between users.

Revision ID: 0001_i18_delegations
Revises: 0000_base
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0001_i18_delegations"
down_revision = "0000_base"
branch_labels = None
depends_on = ("0001_foundation",)


def upgrade() -> None:
    op.create_table(
        "delegations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delegator_id", sa.Integer(), nullable=False),
        sa.Column("delegate_id", sa.Integer(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("process_ids", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("revoke_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint("valid_until > valid_from", name=op.f("ck_delegations_window")),
        sa.CheckConstraint("delegator_id <> delegate_id", name=op.f("ck_delegations_not_self")),
        sa.ForeignKeyConstraint(["delegator_id"], ["users.id"], name=op.f("fk_delegations_delegator_id_users")),
        sa.ForeignKeyConstraint(["delegate_id"], ["users.id"], name=op.f("fk_delegations_delegate_id_users")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_delegations_created_by_id_users")),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["users.id"], name=op.f("fk_delegations_revoked_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegations")),
    )
    op.create_index(op.f("ix_delegations_delegator_id"), "delegations", ["delegator_id"], unique=False)
    op.create_index(op.f("ix_delegations_delegate_id"), "delegations", ["delegate_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_delegations_delegate_id"), table_name="delegations")
    op.drop_index(op.f("ix_delegations_delegator_id"), table_name="delegations")
    op.drop_table("delegations")
