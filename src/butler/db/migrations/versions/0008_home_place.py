"""A person's home place (name and coordinates), for the weather where they live.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from butler.db.migrate import run_script

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script("ALTER TABLE butler.users ADD COLUMN home_place jsonb;")


def downgrade() -> None:
    run_script("ALTER TABLE butler.users DROP COLUMN IF EXISTS home_place;")
