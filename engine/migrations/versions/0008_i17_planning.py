"""planning (#17): standard times on routing operations, due date and priority on lots,
work-centre shifts, and versioned production plans with their placed operations and blockers.

Revision ID: 0008_i17_planning
Revises: 0000_base
Depends on: 0001_i15_floor (lots, routing operations, equipment, users)
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op


revision = "0008_i17_planning"
down_revision = "0000_base"
branch_labels = ("i17_planning",)
depends_on = ("0001_i15_floor",)


def upgrade() -> None:
    with op.batch_alter_table("routing_operations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("setup_minutes", sa.Float(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("run_minutes_per_unit", sa.Float(), server_default="0", nullable=False))
        batch_op.create_check_constraint("standard_time", "setup_minutes >= 0 AND run_minutes_per_unit >= 0")
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("priority", sa.Integer(), server_default="3", nullable=False))
        batch_op.create_check_constraint("priority", "priority >= 1 AND priority <= 5")
    op.create_table(
        "work_centre_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_centre", sa.String(length=64), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("starts_minute", sa.Integer(), nullable=False),
        sa.Column("ends_minute", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.CheckConstraint("weekday >= 0 AND weekday <= 6", name=op.f("ck_work_centre_shifts_weekday")),
        sa.CheckConstraint("starts_minute >= 0 AND ends_minute <= 1440 AND starts_minute < ends_minute",
                           name=op.f("ck_work_centre_shifts_minutes")),
        sa.CheckConstraint("capacity >= 1", name=op.f("ck_work_centre_shifts_capacity")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_centre_shifts")),
        sa.UniqueConstraint("work_centre", "weekday", "starts_minute",
                            name=op.f("uq_work_centre_shifts_work_centre_weekday_starts_minute")),
    )
    op.create_index(op.f("ix_work_centre_shifts_work_centre"), "work_centre_shifts", ["work_centre"])
    op.create_table(
        "production_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("horizon_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("solver_status", sa.String(length=16), nullable=False),
        sa.Column("objective", sa.Float(), nullable=True),
        sa.Column("best_bound", sa.Float(), nullable=True),
        sa.Column("gap", sa.Float(), nullable=True),
        sa.Column("wall_seconds", sa.Float(), nullable=False),
        sa.Column("total_lateness_minutes", sa.Integer(), nullable=False),
        sa.Column("makespan_minutes", sa.Integer(), nullable=False),
        sa.Column("inputs_sha256", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by_id", sa.Integer(), nullable=True),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('draft', 'released', 'superseded')", name=op.f("ck_production_plans_state")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_production_plans_created_by_id_users")),
        sa.ForeignKeyConstraint(["released_by_id"], ["users.id"],
                                name=op.f("fk_production_plans_released_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_plans")),
        sa.UniqueConstraint("version", name=op.f("uq_production_plans_version")),
    )
    op.create_table(
        "planned_operations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("routing_operation_id", sa.Integer(), nullable=False),
        sa.Column("work_centre", sa.String(length=64), nullable=False),
        sa.Column("equipment_id", sa.Integer(), nullable=True),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("lateness_minutes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["production_plans.id"],
                                name=op.f("fk_planned_operations_plan_id_production_plans")),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_planned_operations_lot_id_lots")),
        sa.ForeignKeyConstraint(["routing_operation_id"], ["routing_operations.id"],
                                name=op.f("fk_planned_operations_routing_operation_id_routing_operations")),
        sa.ForeignKeyConstraint(["equipment_id"], ["equipment.id"],
                                name=op.f("fk_planned_operations_equipment_id_equipment")),
        sa.ForeignKeyConstraint(["operator_id"], ["users.id"], name=op.f("fk_planned_operations_operator_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_operations")),
    )
    op.create_index(op.f("ix_planned_operations_plan_id"), "planned_operations", ["plan_id"])
    op.create_index(op.f("ix_planned_operations_lot_id"), "planned_operations", ["lot_id"])
    op.create_table(
        "plan_blockers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("record", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["production_plans.id"],
                                name=op.f("fk_plan_blockers_plan_id_production_plans")),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_plan_blockers_lot_id_lots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_blockers")),
    )
    op.create_index(op.f("ix_plan_blockers_plan_id"), "plan_blockers", ["plan_id"])
    op.create_index(op.f("ix_plan_blockers_lot_id"), "plan_blockers", ["lot_id"])


def downgrade() -> None:
    op.drop_table("plan_blockers")
    op.drop_table("planned_operations")
    op.drop_table("production_plans")
    op.drop_index(op.f("ix_work_centre_shifts_work_centre"), table_name="work_centre_shifts")
    op.drop_table("work_centre_shifts")
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.drop_constraint("ck_lots_priority", type_="check")
        batch_op.drop_column("priority")
        batch_op.drop_column("due_on")
    with op.batch_alter_table("routing_operations", schema=None) as batch_op:
        batch_op.drop_constraint("ck_routing_operations_standard_time", type_="check")
        batch_op.drop_column("run_minutes_per_unit")
        batch_op.drop_column("setup_minutes")
