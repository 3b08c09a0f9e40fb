"""Home actions planned in a voice reply, carried out once the reply is heard (the turn
was committed), or never if the person went on speaking.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from butler.db.migrate import run_script

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script(
        """CREATE TABLE butler.home_heard_actions (
            id         uuid PRIMARY KEY,
            user_id    uuid NOT NULL REFERENCES butler.users (id) ON DELETE CASCADE,
            action     jsonb NOT NULL,
            expires_at timestamptz NOT NULL
        );
        CREATE INDEX home_heard_actions_expiry ON butler.home_heard_actions (expires_at);"""
    )


def downgrade() -> None:
    run_script("DROP TABLE IF EXISTS butler.home_heard_actions;")
