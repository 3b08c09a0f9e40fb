"""Voice sessions: one row per room the API opened for a person, so the worker's
credential for that room can be revoked (the room ended, the person signed out).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from butler.db.migrate import run_script

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script(
        """CREATE TABLE butler.voice_sessions (
            room_name     text PRIMARY KEY,
            user_id       uuid NOT NULL REFERENCES butler.users (id) ON DELETE CASCADE,
            credential_id text NOT NULL,
            created_at    timestamptz NOT NULL DEFAULT now(),
            expires_at    timestamptz NOT NULL,
            ended_at      timestamptz,
            end_reason    text
        );
        CREATE INDEX voice_sessions_user_open_idx
            ON butler.voice_sessions (user_id) WHERE ended_at IS NULL;
        """
    )


def downgrade() -> None:
    run_script("DROP TABLE IF EXISTS butler.voice_sessions;")
