"""Home Assistant: the admin's exposure choices, each person's permissions, actions
waiting for a yes, and the connection an admin set in the app (token encrypted).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from butler.db.migrate import run_script

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script(
        """CREATE TABLE butler.home_entities (
            entity_id          text PRIMARY KEY,
            exposed            boolean NOT NULL,
            needs_confirmation boolean NOT NULL,
            updated_at         timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE butler.home_permissions (
            user_id    uuid PRIMARY KEY REFERENCES butler.users (id) ON DELETE CASCADE,
            areas      text[],
            domains    text[],
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE butler.home_pending_actions (
            user_id    uuid PRIMARY KEY REFERENCES butler.users (id) ON DELETE CASCADE,
            action     jsonb NOT NULL,
            question   text NOT NULL,
            expires_at timestamptz NOT NULL
        );
        CREATE TABLE butler.home_connection (
            singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            url             text NOT NULL,
            token_encrypted text NOT NULL,
            updated_by      uuid REFERENCES butler.users (id) ON DELETE SET NULL,
            updated_at      timestamptz NOT NULL DEFAULT now()
        );
        """
    )


def downgrade() -> None:
    run_script(
        """DROP TABLE IF EXISTS butler.home_connection;
        DROP TABLE IF EXISTS butler.home_pending_actions;
        DROP TABLE IF EXISTS butler.home_permissions;
        DROP TABLE IF EXISTS butler.home_entities;"""
    )
