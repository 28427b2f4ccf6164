"""foundation: serial numbers (GS1 AI 21) of the units of finished lots, with their packing scan.

Revision ID: 0001_i18_serials
Revises: 0000_base
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0001_i18_serials"
down_revision = "0000_base"
branch_labels = None
depends_on = ("0001_foundation",)


def upgrade() -> None:
    op.create_table(
        "lot_serials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=20), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.Column("packed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("packed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_lot_serials_lot_id_lots")),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_lot_serials_item_id_items")),
        sa.ForeignKeyConstraint(["assigned_by_id"], ["users.id"], name=op.f("fk_lot_serials_assigned_by_id_users")),
        sa.ForeignKeyConstraint(["packed_by_id"], ["users.id"], name=op.f("fk_lot_serials_packed_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot_serials")),
        sa.UniqueConstraint("item_id", "serial", name=op.f("uq_lot_serials_item_id_serial")),
    )
    op.create_index(op.f("ix_lot_serials_lot_id"), "lot_serials", ["lot_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_lot_serials_lot_id"), table_name="lot_serials")
    op.drop_table("lot_serials")
