"""Find a stored turn by the voice worker's turn id (idempotent turn writes).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from butler.db.migrate import run_script

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script(
        """CREATE INDEX conversation_history_turn_idx
           ON butler.conversation_history (user_id, (metadata->>'turn_id'));
        """
    )


def downgrade() -> None:
    run_script("DROP INDEX IF EXISTS butler.conversation_history_turn_idx;\n")
