"""audit: signed checkpoints; append-only triggers on the audit tables.

PostgreSQL: a row-level trigger refuses UPDATE and DELETE, a statement-level one refuses
TRUNCATE (row triggers do not fire for it); both are ENABLE ALWAYS so that
``session_replication_role = replica`` does not bypass them. The table owner can still disable
triggers: the application's role must not own these tables (see docs/audit.md), and only the
signed checkpoints kept outside the database catch an administrator who does.
SQLite: BEFORE UPDATE/DELETE triggers (SQLite has no TRUNCATE).

Revision ID: 0002_audit_checkpoints
Revises: 0002_audit_signatures
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_audit_checkpoints"
down_revision = "0002_audit_signatures"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
APPEND_ONLY = ("audit_installation", "audit_entry", "audit_checkpoint", "signature")


def upgrade() -> None:
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("installation_id", sa.String(36), nullable=False),
        sa.Column("genesis_hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(80), nullable=False),
        sa.Column("signature", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoint")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_checkpoint_seq")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit table %: % is refused (append-only)', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END $$""")
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()")
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_change")
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate")
    else:
        for table in APPEND_ONLY:
            for what in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{what.lower()} BEFORE {what} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {what} refused'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_refuse_change()")
    else:
        for table in APPEND_ONLY:
            for what in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{what}")
    op.drop_table("audit_checkpoint")
