"""SPC baselines are keyed by routing as well (operation codes repeat across routings).

Revision ID: 0005_api_02_spc_routing
Revises: 0005_api
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_api_02_spc_routing"
down_revision = "0005_api"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("spc_baselines") as batch:
        batch.add_column(sa.Column("routing", sa.String(64), nullable=False, server_default=""))
    with op.batch_alter_table("spc_baselines") as batch:
        batch.alter_column("routing", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("spc_baselines") as batch:
        batch.drop_column("routing")
