"""foundation (#18): an inspection item may carry the responsible authority's approval of reduced
inspection (ISO 2859-1:1999 9.3.3); with a switching score of 30 its next lot is inspected reduced.

Revision ID: 0011_i18e_reduced_inspection
Revises: 0000_base
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_i18e_reduced_inspection"
down_revision = "0000_base"
branch_labels = None
depends_on = ("0001_foundation", "0001_i18_aql")  # inspection_items and its aql column


def upgrade() -> None:
    with op.batch_alter_table("inspection_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reduced_inspection_approved", sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.create_check_constraint("reduced_with_aql", "aql IS NOT NULL OR NOT reduced_inspection_approved")


def downgrade() -> None:
    with op.batch_alter_table("inspection_items", schema=None) as batch_op:
        batch_op.drop_constraint("ck_inspection_items_reduced_with_aql", type_="check")
        batch_op.drop_column("reduced_inspection_approved")
