"""audit: e-signatures, TOTP credentials, enrollment permits, signing sessions, security alerts.

Revision ID: 0002_audit_signatures
Revises: 0002_audit
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_audit_signatures"
down_revision = "0002_audit"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "signing_account",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.String(32), nullable=True),
        sa.Column("last_timecode", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_signing_account")),
    )
    op.create_table(
        "enrollment_permit",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("issued_by", sa.String(200), nullable=False),
        sa.Column("issued_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("used_at", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_permit")),
    )
    op.create_index(op.f("ix_enrollment_permit_user_id"), "enrollment_permit", ["user_id"])
    op.create_table(
        "totp_credential",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("permit_id", BigId, nullable=True),
        sa.Column("confirmed_at", sa.String(32), nullable=True),
        sa.Column("revoked_at", sa.String(32), nullable=True),
        sa.Column("revoked_by", sa.String(200), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'active', 'revoked', 'superseded')",
                           name=op.f("ck_totp_credential_status")),
        sa.ForeignKeyConstraint(["permit_id"], ["enrollment_permit.id"],
                                name=op.f("fk_totp_credential_permit_id_enrollment_permit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_totp_credential")),
    )
    op.create_index(op.f("ix_totp_credential_user_id"), "totp_credential", ["user_id"])
    op.create_table(
        "signing_session",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("started_at", sa.String(32), nullable=False),
        sa.Column("first_signed_at", sa.String(32), nullable=True),
        sa.Column("last_signed_at", sa.String(32), nullable=True),
        sa.Column("ended_at", sa.String(32), nullable=True),
        sa.Column("end_reason", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_session")),
    )
    op.create_index(op.f("ix_signing_session_user_id"), "signing_session", ["user_id"])
    op.create_table(
        "signature",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("signature_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("username", sa.String(200), nullable=False),
        sa.Column("printed_name", sa.String(200), nullable=False),
        sa.Column("meaning", sa.String(32), nullable=False),
        sa.Column("signed_at", sa.String(32), nullable=False),
        sa.Column("record_type", sa.String(100), nullable=False),
        sa.Column("record_id", sa.String(200), nullable=False),
        sa.Column("record_sha256", sa.String(64), nullable=False),
        sa.Column("components", sa.String(32), nullable=False),
        sa.Column("signing_session_id", sa.String(36), nullable=True),
        sa.Column("totp_timecode", sa.BigInteger(), nullable=False),
        sa.Column("audit_entry_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(["audit_entry_id"], ["audit_entry.id"],
                                name=op.f("fk_signature_audit_entry_id_audit_entry")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signature")),
        sa.UniqueConstraint("signature_id", name=op.f("uq_signature_signature_id")),
        sa.UniqueConstraint("audit_entry_id", name=op.f("uq_signature_audit_entry_id")),
    )
    op.create_index(op.f("ix_signature_user_id"), "signature", ["user_id"])
    op.create_index("ix_signature_record", "signature", ["record_type", "record_id"])
    op.create_table(
        "security_alert",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("raised_at", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("audit_entry_id", BigId, nullable=False),
        sa.Column("acknowledged_at", sa.String(32), nullable=True),
        sa.Column("acknowledged_by", sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(["audit_entry_id"], ["audit_entry.id"],
                                name=op.f("fk_security_alert_audit_entry_id_audit_entry")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_alert")),
    )
    op.create_index(op.f("ix_security_alert_raised_at"), "security_alert", ["raised_at"])


def downgrade() -> None:
    for table in ("security_alert", "signature", "signing_session", "totp_credential",
                  "enrollment_permit", "signing_account"):
        op.drop_table(table)
