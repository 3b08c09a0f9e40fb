"""Long-term memory: which model embedded each fact, one row per distinct fact text,
and the index the memory page lists by.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from butler.db.migrate import run_script

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script(
        """ALTER TABLE butler.user_facts ADD COLUMN embedding_model text;
        CREATE UNIQUE INDEX user_facts_user_text_idx
            ON butler.user_facts (user_id, md5(lower(fact)));
        CREATE INDEX user_facts_user_updated_idx
            ON butler.user_facts (user_id, updated_at DESC, id);
        """
    )


def downgrade() -> None:
    run_script(
        """DROP INDEX IF EXISTS butler.user_facts_user_updated_idx;
        DROP INDEX IF EXISTS butler.user_facts_user_text_idx;
        ALTER TABLE butler.user_facts DROP COLUMN IF EXISTS embedding_model;
        """
    )
