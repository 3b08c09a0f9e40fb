"""Long-term memory: which model embedded each fact, one row per distinct fact text,
the index the memory page lists by, and full-text search per person: a GIN index on
(user_id, fact_tsv) (btree_gin, in PostgreSQL's contrib) finds one person's matches
directly instead of intersecting everybody's with theirs.

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
        """CREATE EXTENSION IF NOT EXISTS btree_gin;
        ALTER TABLE butler.user_facts ADD COLUMN embedding_model text;
        DROP INDEX butler.user_facts_tsv_idx;
        -- fastupdate off: a fact is searchable at full speed at once, not after a vacuum
        -- (facts arrive a few a day, so the slower insert costs nothing).
        CREATE INDEX user_facts_user_tsv_idx ON butler.user_facts USING gin (user_id, fact_tsv)
            WITH (fastupdate = off);
        CREATE UNIQUE INDEX user_facts_user_text_idx
            ON butler.user_facts (user_id, md5(lower(fact)));
        CREATE INDEX user_facts_user_updated_idx
            ON butler.user_facts (user_id, updated_at DESC, id);
        """
    )


def downgrade() -> None:
    run_script(
        """DROP INDEX IF EXISTS butler.user_facts_user_tsv_idx;
        CREATE INDEX user_facts_tsv_idx ON butler.user_facts USING gin (fact_tsv);
        DROP INDEX IF EXISTS butler.user_facts_user_updated_idx;
        DROP INDEX IF EXISTS butler.user_facts_user_text_idx;
        ALTER TABLE butler.user_facts DROP COLUMN IF EXISTS embedding_model;
        """
    )
