"""serial numbers (#18): serialised components — an item's own GTIN and serialised flag, and the
serials of component units with the finished unit each was fitted into.

Revision ID: 0011_i18c_serial_components
Revises: 0000_base
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from engine.db import UTCDateTime

revision = "0011_i18c_serial_components"
down_revision = "0000_base"
branch_labels = None
depends_on = ("0001_foundation", "0001_i18_serials")  # items, lots, users; lot_serials


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gtin", sa.String(length=14), nullable=True))
        batch_op.add_column(sa.Column("serialised", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_unique_constraint(batch_op.f("uq_items_gtin"), ["gtin"])
    op.create_table(
        "component_serials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=20), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("received_by_id", sa.Integer(), nullable=True),
        sa.Column("unit_serial_id", sa.Integer(), nullable=True),
        sa.Column("fitted_at", UTCDateTime(), nullable=True),
        sa.Column("fitted_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_component_serials_lot_id_lots")),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_component_serials_item_id_items")),
        sa.ForeignKeyConstraint(["received_by_id"], ["users.id"],
                                name=op.f("fk_component_serials_received_by_id_users")),
        sa.ForeignKeyConstraint(["unit_serial_id"], ["lot_serials.id"],
                                name=op.f("fk_component_serials_unit_serial_id_lot_serials")),
        sa.ForeignKeyConstraint(["fitted_by_id"], ["users.id"], name=op.f("fk_component_serials_fitted_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_component_serials")),
        sa.UniqueConstraint("item_id", "serial", name=op.f("uq_component_serials_item_id_serial")),
    )
    op.create_index(op.f("ix_component_serials_lot_id"), "component_serials", ["lot_id"], unique=False)
    op.create_index(op.f("ix_component_serials_unit_serial_id"), "component_serials", ["unit_serial_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_component_serials_unit_serial_id"), table_name="component_serials")
    op.drop_index(op.f("ix_component_serials_lot_id"), table_name="component_serials")
    op.drop_table("component_serials")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_items_gtin"), type_="unique")
        batch_op.drop_column("serialised")
        batch_op.drop_column("gtin")
