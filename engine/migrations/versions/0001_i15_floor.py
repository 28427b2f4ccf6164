"""foundation: training records carry method, result (pass/fail) and score; operation executions
may be transcribed from a paper record (the live interlocks did not apply to them).

A failed assessment may be followed by a passed one, so the unique constraint on (user,
document revision) becomes a partial unique index over passed records.

Revision ID: 0001_i15_floor
Revises: 0001_foundation_i20_sessions
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0001_i15_floor"
down_revision = "0001_foundation_i20_sessions"
branch_labels = None
depends_on = None

PASSED = "result = 'pass'"


def upgrade() -> None:
    with op.batch_alter_table("operation_executions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("transcribed_from", sa.String(length=200), nullable=True))
    with op.batch_alter_table("training_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("method", sa.String(length=32), server_default="classroom", nullable=False))
        batch_op.add_column(sa.Column("result", sa.String(length=8), server_default="pass", nullable=False))
        batch_op.add_column(sa.Column("score", sa.Float(), nullable=True))
        batch_op.drop_constraint("uq_training_records_user_id_document_revision_id", type_="unique")
        batch_op.create_check_constraint("result", "result IN ('pass', 'fail')")
        batch_op.create_check_constraint(
            "method", "method IN ('read_and_acknowledge', 'classroom', 'on_the_job', 'e_learning')")
    op.create_index("uq_training_records_passed", "training_records", ["user_id", "document_revision_id"],
                    unique=True, sqlite_where=sa.text(PASSED), postgresql_where=sa.text(PASSED))


def downgrade() -> None:
    op.drop_index("uq_training_records_passed", table_name="training_records")
    with op.batch_alter_table("training_records", schema=None) as batch_op:
        batch_op.drop_constraint("ck_training_records_method", type_="check")
        batch_op.drop_constraint("ck_training_records_result", type_="check")
        batch_op.create_unique_constraint("uq_training_records_user_id_document_revision_id",
                                          ["user_id", "document_revision_id"])
        batch_op.drop_column("score")
        batch_op.drop_column("result")
        batch_op.drop_column("method")
    with op.batch_alter_table("operation_executions", schema=None) as batch_op:
        batch_op.drop_column("transcribed_from")
