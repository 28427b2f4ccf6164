"""foundation: inspection items carry an ISO 2859-1 inspection level and AQL; each inspection
result keeps the sampling plan it was judged by (code letter, severity, n, Ac, Re).

Revision ID: 0001_i18_aql
Revises: 0000_base
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0001_i18_aql"
down_revision = "0000_base"
branch_labels = None
depends_on = ("0001_foundation",)

LEVELS = "inspection_level IN ('S-1', 'S-2', 'S-3', 'S-4', 'I', 'II', 'III')"


def upgrade() -> None:
    with op.batch_alter_table("inspection_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inspection_level", sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column("aql", sa.Float(), nullable=True))
        batch_op.create_check_constraint("inspection_level", LEVELS)
        batch_op.create_check_constraint("aql_with_level", "(aql IS NULL) = (inspection_level IS NULL)")
    with op.batch_alter_table("inspection_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sampling_plan", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inspection_results", schema=None) as batch_op:
        batch_op.drop_column("sampling_plan")
    with op.batch_alter_table("inspection_items", schema=None) as batch_op:
        batch_op.drop_constraint("ck_inspection_items_aql_with_level", type_="check")
        batch_op.drop_constraint("ck_inspection_items_inspection_level", type_="check")
        batch_op.drop_column("aql")
        batch_op.drop_column("inspection_level")
