"""governance (#18): sharing profiles as revisions released through change control.

The shipped profiles (engine/governance/profiles/*.toml) become their first released revisions
when ``sealtrail init`` (or the demo) installs them, audited like the shipped processes.

Revision ID: 0011_i18_profile_revisions
Revises: 0000_base
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from engine.db import UTCDateTime

revision = "0011_i18_profile_revisions"
down_revision = "0000_base"
branch_labels = None
depends_on = None

_RELEASED = "status = 'released'"
_OPEN = "status IN ('draft', 'in_review')"


def upgrade() -> None:
    op.create_table(
        "share_profile_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.String(length=200), nullable=False),
        sa.Column("created_by_name", sa.String(length=200), nullable=False),
        sa.Column("process_instance_id", sa.Integer(), nullable=True),
        sa.Column("change_ref", sa.String(length=32), nullable=True),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.Column("released_by_id", sa.String(length=200), nullable=True),
        sa.Column("released_by_name", sa.String(length=200), nullable=True),
        sa.Column("superseded_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'in_review', 'released', 'superseded')",
                           name=op.f("ck_share_profile_revisions_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_profile_revisions")),
        sa.UniqueConstraint("name", "revision", name=op.f("uq_share_profile_revisions_name_revision")),
    )
    with op.batch_alter_table("share_profile_revisions") as batch:
        batch.create_index(batch.f("ix_share_profile_revisions_process_instance_id"), ["process_instance_id"])
        batch.create_index("uq_share_profile_revisions_released", ["name"], unique=True,
                           sqlite_where=sa.text(_RELEASED), postgresql_where=sa.text(_RELEASED))
        batch.create_index("uq_share_profile_revisions_open", ["name"], unique=True,
                           sqlite_where=sa.text(_OPEN), postgresql_where=sa.text(_OPEN))


def downgrade() -> None:
    op.drop_table("share_profile_revisions")
