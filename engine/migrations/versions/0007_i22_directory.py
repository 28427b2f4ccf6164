"""Directory sign-in (issue #22): directory groups mapped to roles.

Revision ID: 0007_i22_directory
Revises: 0007_i22_notifications
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_i22_directory"
down_revision = "0007_i22_notifications"
branch_labels = None
depends_on = ("0001_foundation",)

ROLES = ("operator", "process_engineer", "production_manager", "qa_engineer", "qa_manager", "regulatory",
         "auditor", "admin")


def upgrade() -> None:
    op.create_table(
        "directory_group_roles",
        sa.Column("group_dn", sa.String(length=500), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")",
                           name=op.f("ck_directory_group_roles_role")),
        sa.PrimaryKeyConstraint("group_dn", "role", name=op.f("pk_directory_group_roles")),
    )


def downgrade() -> None:
    op.drop_table("directory_group_roles")
