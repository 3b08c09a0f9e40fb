"""Reminders and timers, their firings, the deliveries of each firing, and the
browsers' push subscriptions.

A timer started by voice is `held` until its reply is heard (the words were taken at
the speaker's first pause; they may go on). A firing row is written in the same
transaction that advances (or closes) its reminder, unique per (reminder, due time):
a reminder fires once however many processes look. Each firing then has one delivery
row per channel, claimed with a lease, so a process that dies mid-delivery hands it on
rather than losing it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from butler.db.migrate import run_script

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script(
        """CREATE TABLE butler.reminders (
            id               uuid PRIMARY KEY,
            user_id          uuid NOT NULL REFERENCES butler.users (id) ON DELETE CASCADE,
            kind             text NOT NULL CHECK (kind IN ('reminder', 'timer')),
            text             text NOT NULL,
            due_at           timestamptz NOT NULL,
            starts_at        timestamptz NOT NULL,
            recurrence       text,
            timezone         text NOT NULL,
            duration_seconds integer,
            status           text NOT NULL DEFAULT 'pending'
                             CHECK (status IN ('held', 'pending', 'done', 'cancelled')),
            fired_count      integer NOT NULL DEFAULT 0,
            created_at       timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX reminders_due_idx ON butler.reminders (due_at) WHERE status = 'pending';
        CREATE INDEX reminders_user_idx ON butler.reminders (user_id, status, due_at);

        CREATE TABLE butler.reminder_firings (
            id           uuid PRIMARY KEY,
            reminder_id  uuid NOT NULL REFERENCES butler.reminders (id) ON DELETE CASCADE,
            user_id      uuid NOT NULL REFERENCES butler.users (id) ON DELETE CASCADE,
            kind         text NOT NULL,
            text         text NOT NULL,
            due_at       timestamptz NOT NULL,
            fired_at     timestamptz NOT NULL,
            CONSTRAINT reminder_firings_once UNIQUE (reminder_id, due_at)
        );
        CREATE INDEX reminder_firings_user_idx ON butler.reminder_firings (user_id, fired_at);

        CREATE TABLE butler.deliveries (
            firing_id   uuid NOT NULL REFERENCES butler.reminder_firings (id) ON DELETE CASCADE,
            channel     text NOT NULL CHECK (channel IN ('push', 'voice', 'whatsapp')),
            status      text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'expired')),
            attempts    integer NOT NULL DEFAULT 0,
            not_before  timestamptz NOT NULL DEFAULT now(),
            detail      text,
            done_at     timestamptz,
            PRIMARY KEY (firing_id, channel)
        );
        CREATE INDEX deliveries_open_idx ON butler.deliveries (channel, not_before)
            WHERE status IN ('pending', 'sending');

        CREATE TABLE butler.push_subscriptions (
            id         uuid PRIMARY KEY,
            user_id    uuid NOT NULL REFERENCES butler.users (id) ON DELETE CASCADE,
            endpoint   text NOT NULL UNIQUE,
            p256dh     text NOT NULL,
            auth       text NOT NULL,
            server_key text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            last_sent_at timestamptz
        );
        CREATE INDEX push_subscriptions_user_idx ON butler.push_subscriptions (user_id);"""
    )


def downgrade() -> None:
    run_script(
        """DROP TABLE IF EXISTS butler.push_subscriptions;
        DROP TABLE IF EXISTS butler.deliveries;
        DROP TABLE IF EXISTS butler.reminder_firings;
        DROP TABLE IF EXISTS butler.reminders;"""
    )
