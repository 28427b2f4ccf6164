"""api: API tokens bound to a sharing profile and recipient (#18).

Revision ID: 0002_i18_token_profiles
Revises: 0000_base
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_i18_token_profiles"
down_revision = "0000_base"
branch_labels = None
depends_on = ("0005_api",)


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("share_profile", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("share_recipient", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("share_recipient")
        batch.drop_column("share_profile")
