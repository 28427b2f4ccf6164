"""foundation: each BOM line says how far consumption may exceed its quantity for the lot size
(``tolerance_pct``, 5 % unless the line says otherwise); the shop-floor interlock refuses more.

Revision ID: 0001_i15_floor_02_tolerance
Revises: 0001_i15_floor
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0001_i15_floor_02_tolerance"
down_revision = "0001_i15_floor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bom_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tolerance_pct", sa.Float(), server_default="5.0", nullable=False))
        batch_op.create_check_constraint("tolerance_pct", "tolerance_pct >= 0 AND tolerance_pct <= 100")


def downgrade() -> None:
    with op.batch_alter_table("bom_lines", schema=None) as batch_op:
        batch_op.drop_constraint("ck_bom_lines_tolerance_pct", type_="check")
        batch_op.drop_column("tolerance_pct")
