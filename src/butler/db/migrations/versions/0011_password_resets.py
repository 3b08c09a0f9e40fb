"""One-time password reset codes an admin makes for a member (only a digest stored).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from butler.db.migrate import run_script

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script(
        """CREATE TABLE butler.password_resets (
            id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id     uuid NOT NULL REFERENCES butler.users (id) ON DELETE CASCADE,
            code_hash   text NOT NULL UNIQUE,
            created_by  uuid REFERENCES butler.users (id) ON DELETE SET NULL,
            created_at  timestamptz NOT NULL DEFAULT now(),
            expires_at  timestamptz NOT NULL,
            used_at     timestamptz
        );
        CREATE INDEX password_resets_user_idx ON butler.password_resets (user_id);"""
    )


def downgrade() -> None:
    run_script("DROP TABLE IF EXISTS butler.password_resets;")
