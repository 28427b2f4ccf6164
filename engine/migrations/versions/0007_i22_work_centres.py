"""Notifications (issue #22): webhooks per work centre (told of deviations opened there).

A webhook now follows either a role's lane or a work centre; the outbox gains the kind
``deviation_opened``.

Revision ID: 0007_i22_work_centres
Revises: 0007_i22_directory
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_i22_work_centres"
down_revision = "0007_i22_directory"
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('task_ready', 'task_due_soon', 'task_overdue', 'signing_locked', 'test')"
NEW_KINDS = "kind IN ('task_ready', 'task_due_soon', 'task_overdue', 'signing_locked', 'deviation_opened', 'test')"


def upgrade() -> None:
    with op.batch_alter_table("notification_webhooks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("work_centre", sa.String(length=64), nullable=True))
        batch_op.alter_column("role", existing_type=sa.String(length=32), nullable=True)
        batch_op.create_check_constraint("scope", "(role IS NULL) <> (work_centre IS NULL)")
        batch_op.create_index(batch_op.f("ix_notification_webhooks_work_centre"), ["work_centre"], unique=False)
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_constraint("ck_notification_outbox_kind", type_="check")
        batch_op.create_check_constraint("kind", NEW_KINDS)


def downgrade() -> None:
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_constraint("ck_notification_outbox_kind", type_="check")
        batch_op.create_check_constraint("kind", OLD_KINDS)
    with op.batch_alter_table("notification_webhooks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_webhooks_work_centre"))
        batch_op.drop_constraint("ck_notification_webhooks_scope", type_="check")
        batch_op.alter_column("role", existing_type=sa.String(length=32), nullable=False)
        batch_op.drop_column("work_centre")
