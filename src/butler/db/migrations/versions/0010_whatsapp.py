"""WhatsApp: linked numbers and their codes, the inbox of received messages (a message
is stored before the webhook is answered and handled from here, once per message id),
what Butler sent (for replies' context and delivery statuses), and what went wrong for
admins to see.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from butler.db.migrate import run_script

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script(
        """CREATE TABLE butler.whatsapp_links (
            user_id       uuid PRIMARY KEY REFERENCES butler.users (id) ON DELETE CASCADE,
            phone_number  text NOT NULL UNIQUE,
            voice_replies boolean NOT NULL DEFAULT false,
            linked_at     timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE butler.whatsapp_link_codes (
            user_id      uuid PRIMARY KEY REFERENCES butler.users (id) ON DELETE CASCADE,
            phone_number text NOT NULL,
            code_hash    text NOT NULL,
            attempts     integer NOT NULL DEFAULT 0,
            expires_at   timestamptz NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE butler.whatsapp_contacts (
            phone_number     text PRIMARY KEY,
            last_inbound_at  timestamptz,
            access_notice_at timestamptz
        );

        CREATE TABLE butler.whatsapp_inbox (
            message_id   text PRIMARY KEY,
            phone_number text NOT NULL,
            kind         text NOT NULL,
            message      jsonb NOT NULL,
            received_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
            status       text NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'working', 'answered', 'done', 'failed')),
            attempts     integer NOT NULL DEFAULT 0,
            not_before   timestamptz NOT NULL DEFAULT now(),
            reply        jsonb,
            detail       text,
            done_at      timestamptz
        );
        CREATE INDEX whatsapp_inbox_open_idx ON butler.whatsapp_inbox (phone_number, received_at)
            WHERE status IN ('pending', 'working', 'answered');
        CREATE INDEX whatsapp_inbox_received_idx ON butler.whatsapp_inbox (received_at);

        CREATE TABLE butler.whatsapp_sent (
            message_id   text PRIMARY KEY,
            phone_number text NOT NULL,
            kind         text NOT NULL,
            text         text,
            status       text NOT NULL DEFAULT 'accepted'
                         CHECK (status IN ('accepted', 'sent', 'delivered', 'read', 'failed')),
            detail       text,
            sent_at      timestamptz NOT NULL DEFAULT now(),
            updated_at   timestamptz
        );
        CREATE INDEX whatsapp_sent_at_idx ON butler.whatsapp_sent (sent_at);

        CREATE TABLE butler.whatsapp_problems (
            id           bigserial PRIMARY KEY,
            at           timestamptz NOT NULL DEFAULT now(),
            phone_number text,
            what         text NOT NULL,
            detail       text NOT NULL
        );"""
    )


def downgrade() -> None:
    run_script(
        """DROP TABLE IF EXISTS butler.whatsapp_problems;
        DROP TABLE IF EXISTS butler.whatsapp_sent;
        DROP TABLE IF EXISTS butler.whatsapp_inbox;
        DROP TABLE IF EXISTS butler.whatsapp_contacts;
        DROP TABLE IF EXISTS butler.whatsapp_link_codes;
        DROP TABLE IF EXISTS butler.whatsapp_links;"""
    )
