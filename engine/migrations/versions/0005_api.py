"""API: tokens, alarms, alarm rules, idempotency records, SPC baselines.

Revision ID: 0005_api
Revises: 0000_base
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_api"
down_revision = "0000_base"
branch_labels = ("api",)
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scopes", sa.String(200), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("expires_at", TZ, nullable=True),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.Column("revoked_by", sa.String(100), nullable=True),
        sa.Column("revoke_reason", sa.String(500), nullable=True),
        sa.Column("last_used_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("public_id", name="uq_api_tokens_public_id"),
    )
    op.create_table(
        "alarm_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(100), nullable=True),
        sa.Column("line", sa.String(100), nullable=True),
        sa.Column("equipment", sa.String(100), nullable=True),
        sa.Column("min_severity", sa.Integer(), nullable=False),
        sa.Column("max_severity", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("attach_window_minutes", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.CheckConstraint("action IN ('ignore', 'log', 'deviation', 'hold')", name="ck_alarm_rules_action"),
        sa.CheckConstraint("min_severity >= 1 AND max_severity <= 1000 AND min_severity <= max_severity",
                           name="ck_alarm_rules_severity_range"),
        sa.CheckConstraint("attach_window_minutes >= 0", name="ck_alarm_rules_attach_window"),
        sa.PrimaryKeyConstraint("id", name="pk_alarm_rules"),
        sa.UniqueConstraint("name", name="uq_alarm_rules_name"),
    )
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(201), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("line", sa.String(100), nullable=False),
        sa.Column("equipment", sa.String(100), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(1000), nullable=False),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("lot_number", sa.String(64), nullable=True),
        sa.Column("operation", sa.String(64), nullable=True),
        sa.Column("parameter", sa.String(100), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(32), nullable=True),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("rule_version", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("deviation_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("outcome IN ('ignored', 'logged', 'deviation_opened', 'attached', 'lot_held')",
                           name="ck_alarms_outcome"),
        sa.CheckConstraint("severity >= 1 AND severity <= 1000", name="ck_alarms_severity"),
        sa.ForeignKeyConstraint(["rule_id"], ["alarm_rules.id"], name="fk_alarms_rule_id_alarm_rules"),
        sa.PrimaryKeyConstraint("id", name="pk_alarms"),
        sa.UniqueConstraint("source", "event_id", name="uq_alarms_source_event_id"),
    )
    op.create_index("ix_alarms_source_code_received", "alarms", ["source", "code", "received_at"])
    op.create_index("ix_alarms_lot_number", "alarms", ["lot_number"])
    op.create_index("ix_alarms_deviation_id", "alarms", ["deviation_id"])
    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(100), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("endpoint", sa.String(100), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_idempotency_records"),
        sa.UniqueConstraint("client_id", "key", name="uq_idempotency_records_client_id_key"),
    )
    op.create_index("ix_idempotency_records_created_at", "idempotency_records", ["created_at"])
    op.create_table(
        "spc_baselines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("parameter", sa.String(100), nullable=False),
        sa.Column("equipment", sa.String(100), nullable=False),
        sa.Column("mean", sa.Float(), nullable=False),
        sa.Column("sigma", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("rules", sa.String(50), nullable=False),
        sa.Column("established_at", TZ, nullable=False),
        sa.Column("established_by", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("superseded_at", TZ, nullable=True),
        sa.CheckConstraint("sigma > 0", name="ck_spc_baselines_sigma_positive"),
        sa.PrimaryKeyConstraint("id", name="pk_spc_baselines"),
    )
    op.create_index("ix_spc_baselines_series", "spc_baselines", ["operation", "parameter", "equipment"])


def downgrade() -> None:
    op.drop_index("ix_spc_baselines_series", table_name="spc_baselines")
    op.drop_table("spc_baselines")
    op.drop_index("ix_idempotency_records_created_at", table_name="idempotency_records")
    op.drop_table("idempotency_records")
    op.drop_index("ix_alarms_deviation_id", table_name="alarms")
    op.drop_index("ix_alarms_lot_number", table_name="alarms")
    op.drop_index("ix_alarms_source_code_received", table_name="alarms")
    op.drop_table("alarms")
    op.drop_table("alarm_rules")
    op.drop_table("api_tokens")
