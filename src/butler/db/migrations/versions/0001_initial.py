"""The butler schema: accounts, auth, history, facts, tool audit, voice timings.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from butler.db.migrate import run_script

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# all-MiniLM-L6-v2 and kin; the memory work re-embeds and alters this when the model changes.
EMBEDDING_DIMENSIONS = 384

UPGRADE = f"""
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE butler.users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username      text NOT NULL,
    display_name  text NOT NULL,
    role          text NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')),
    soul          jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    voice         text NOT NULL DEFAULT 'bf_emma',
    timezone      text NOT NULL DEFAULT 'UTC',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_username_key UNIQUE (username)
);
CREATE INDEX users_role_idx ON butler.users (role);

CREATE TABLE butler.credentials (
    user_id       uuid PRIMARY KEY REFERENCES butler.users (id) ON DELETE CASCADE,
    password_hash text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE butler.invites (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code_hash   text NOT NULL UNIQUE,
    role        text NOT NULL CHECK (role IN ('admin', 'member')),
    created_by  uuid REFERENCES butler.users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    used_by     uuid REFERENCES butler.users (id) ON DELETE SET NULL
);

CREATE TABLE butler.refresh_tokens (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES butler.users (id) ON DELETE CASCADE,
    token_hash   text NOT NULL UNIQUE,
    family       uuid NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    replaced_by  uuid REFERENCES butler.refresh_tokens (id) ON DELETE SET NULL
);
CREATE INDEX refresh_tokens_family_idx ON butler.refresh_tokens (family);
CREATE INDEX refresh_tokens_user_idx ON butler.refresh_tokens (user_id);

-- Fixed-window counters for login and register attempts, shared by every API process.
CREATE TABLE butler.rate_limits (
    bucket        text NOT NULL,
    window_start  timestamptz NOT NULL,
    attempts      integer NOT NULL,
    PRIMARY KEY (bucket)
);

CREATE TABLE butler.conversation_history (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES butler.users (id) ON DELETE CASCADE,
    channel     text NOT NULL CHECK (channel IN ('text', 'voice', 'whatsapp')),
    session_id  text,
    role        text NOT NULL CHECK (role IN ('user', 'assistant', 'tool', 'system')),
    content     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    metadata    jsonb NOT NULL DEFAULT '{{}}'::jsonb
);
-- The turn loop reads "this user's recent messages, newest first" on every turn.
CREATE INDEX conversation_history_user_recent_idx
    ON butler.conversation_history (user_id, created_at DESC, id DESC);
-- Retention deletes by age across all users.
CREATE INDEX conversation_history_created_idx ON butler.conversation_history (created_at);

CREATE TABLE butler.user_facts (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES butler.users (id) ON DELETE CASCADE,
    fact        text NOT NULL,
    category    text NOT NULL DEFAULT 'general',
    confidence  real NOT NULL DEFAULT 1.0 CHECK (confidence >= 0 AND confidence <= 1),
    source      text NOT NULL DEFAULT 'user',
    embedding   vector({EMBEDDING_DIMENSIONS}),
    fact_tsv    tsvector GENERATED ALWAYS AS (to_tsvector('english', fact)) STORED,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz
);
CREATE INDEX user_facts_user_confidence_idx
    ON butler.user_facts (user_id, confidence DESC, updated_at DESC);
CREATE INDEX user_facts_tsv_idx ON butler.user_facts USING gin (fact_tsv);
CREATE INDEX user_facts_embedding_idx
    ON butler.user_facts USING hnsw (embedding vector_cosine_ops);

CREATE TABLE butler.tool_usage (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES butler.users (id) ON DELETE CASCADE,
    channel      text NOT NULL,
    session_id   text,
    tool_name    text NOT NULL,
    arguments    jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    result       jsonb,
    status       text NOT NULL CHECK (status IN ('ok', 'tool_error', 'failed')),
    duration_ms  integer,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tool_usage_user_created_idx ON butler.tool_usage (user_id, created_at DESC);

CREATE TABLE butler.voice_turns (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id              uuid NOT NULL REFERENCES butler.users (id) ON DELETE CASCADE,
    session_id           text NOT NULL,
    room_name            text,
    endpointing_ms       integer,
    stt_ms               integer,
    llm_first_token_ms   integer,
    tts_first_byte_ms    integer,
    first_audio_ms       integer,
    total_ms             integer,
    interrupted          boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX voice_turns_user_created_idx ON butler.voice_turns (user_id, created_at DESC);
"""

DOWNGRADE = """
DROP TABLE IF EXISTS butler.voice_turns;
DROP TABLE IF EXISTS butler.tool_usage;
DROP TABLE IF EXISTS butler.user_facts;
DROP TABLE IF EXISTS butler.conversation_history;
DROP TABLE IF EXISTS butler.rate_limits;
DROP TABLE IF EXISTS butler.refresh_tokens;
DROP TABLE IF EXISTS butler.invites;
DROP TABLE IF EXISTS butler.credentials;
DROP TABLE IF EXISTS butler.users;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
