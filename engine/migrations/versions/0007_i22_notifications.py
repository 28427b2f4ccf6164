"""Notifications (issue #22): the transactional outbox, per-user preferences, chat webhooks.

Revision ID: 0007_i22_notifications
Revises: 0000_base
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_i22_notifications"
down_revision = "0000_base"
branch_labels = None
depends_on = ("0001_foundation",)


def upgrade() -> None:
    op.create_table(
        "notification_webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('wecom', 'dingtalk', 'teams', 'slack')", name=op.f("ck_notification_webhooks_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_webhooks")),
        sa.UniqueConstraint("name", name=op.f("uq_notification_webhooks_name")),
    )
    op.create_index(op.f("ix_notification_webhooks_role"), "notification_webhooks", ["role"], unique=False)
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=12), nullable=False),
        sa.Column("digest_hour", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("mode IN ('immediate', 'digest', 'escalations')", name=op.f("ck_notification_preferences_mode")),
        sa.CheckConstraint("digest_hour >= 0 AND digest_hour <= 23",
                           name=op.f("ck_notification_preferences_digest_hour")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notification_preferences_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_preferences")),
    )
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("webhook_id", sa.Integer(), nullable=True),
        sa.Column("subject_type", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.CheckConstraint("kind IN ('task_ready', 'task_due_soon', 'task_overdue', 'signing_locked', 'test')",
                           name=op.f("ck_notification_outbox_kind")),
        sa.CheckConstraint("channel IN ('email', 'webhook')", name=op.f("ck_notification_outbox_channel")),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed', 'suppressed')",
                           name=op.f("ck_notification_outbox_status")),
        sa.CheckConstraint("(channel = 'email') = (user_id IS NOT NULL AND webhook_id IS NULL)",
                           name=op.f("ck_notification_outbox_recipient")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notification_outbox_user_id_users")),
        sa.ForeignKeyConstraint(["webhook_id"], ["notification_webhooks.id"],
                                name=op.f("fk_notification_outbox_webhook_id_notification_webhooks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notification_outbox_dedupe_key")),
    )
    op.create_index("ix_notification_outbox_status_next", "notification_outbox", ["status", "next_attempt_at"],
                    unique=False)
    op.create_index(op.f("ix_notification_outbox_user_id"), "notification_outbox", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_notification_outbox_user_id"), table_name="notification_outbox")
    op.drop_index("ix_notification_outbox_status_next", table_name="notification_outbox")
    op.drop_table("notification_outbox")
    op.drop_table("notification_preferences")
    op.drop_index(op.f("ix_notification_webhooks_role"), table_name="notification_webhooks")
    op.drop_table("notification_webhooks")
