-- +goose Up
-- Times are unix microseconds (0 = unset); strings are never NULL.

CREATE TABLE seen_events (
    source   TEXT   NOT NULL,
    event_id TEXT   NOT NULL,
    seen_at  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (source, event_id)
);

CREATE TABLE customers (
    id         BIGSERIAL PRIMARY KEY,
    x_user_id  TEXT    NOT NULL UNIQUE,
    handle     TEXT    NOT NULL DEFAULT '',
    name       TEXT    NOT NULL DEFAULT '',
    avatar_url TEXT    NOT NULL DEFAULT '',
    followers  BIGINT  NOT NULL DEFAULT 0,
    verified   BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE conversations (
    id             BIGSERIAL PRIMARY KEY,
    kind           TEXT   NOT NULL DEFAULT '',
    account        TEXT   NOT NULL DEFAULT '',
    x_key          TEXT   NOT NULL DEFAULT '',
    customer_id    BIGINT NOT NULL REFERENCES customers (id),
    status         TEXT   NOT NULL DEFAULT '',
    priority       TEXT   NOT NULL DEFAULT '',
    reply_to_id    TEXT   NOT NULL DEFAULT '',
    chat_platform  TEXT   NOT NULL DEFAULT '',
    chat_channel   TEXT   NOT NULL DEFAULT '',
    chat_thread_id TEXT   NOT NULL DEFAULT '',
    previous_id    BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL DEFAULT 0,
    updated_at     BIGINT NOT NULL DEFAULT 0,
    closed_at      BIGINT NOT NULL DEFAULT 0
);

-- At most one conversation that is not closed per key and customer.
CREATE UNIQUE INDEX conversations_active ON conversations (account, kind, x_key, customer_id)
    WHERE status <> 'closed';
CREATE INDEX conversations_thread ON conversations (chat_platform, chat_channel, chat_thread_id);
CREATE INDEX conversations_key ON conversations (account, kind, x_key, customer_id, id);

CREATE TABLE messages (
    id              BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    direction       TEXT   NOT NULL DEFAULT '',
    author_id       TEXT   NOT NULL DEFAULT '',
    author_name     TEXT   NOT NULL DEFAULT '',
    text            TEXT   NOT NULL DEFAULT '',
    x_id            TEXT   NOT NULL DEFAULT '',
    chat_id         TEXT   NOT NULL DEFAULT '',
    delivery        TEXT   NOT NULL DEFAULT '',
    delivery_error  TEXT   NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL DEFAULT 0,
    sent_at         BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX messages_x_id ON messages (x_id) WHERE x_id <> '';
CREATE INDEX messages_chat_id ON messages (chat_id);
CREATE INDEX messages_conversation ON messages (conversation_id, id);

CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    effect          TEXT    NOT NULL DEFAULT '',
    lane            TEXT    NOT NULL DEFAULT '',
    seq_key         TEXT    NOT NULL DEFAULT '',
    priority        INTEGER NOT NULL DEFAULT 0,
    idem_key        TEXT    NOT NULL UNIQUE,
    conversation_id BIGINT  NOT NULL DEFAULT 0,
    message_id      BIGINT  NOT NULL DEFAULT 0,
    payload         TEXT    NOT NULL DEFAULT '{}', -- JSON of bridge.Payload
    state           TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    not_before      BIGINT  NOT NULL DEFAULT 0,
    lease_until     BIGINT  NOT NULL DEFAULT 0,
    result_id       TEXT    NOT NULL DEFAULT '',
    last_error      TEXT    NOT NULL DEFAULT '',
    notified        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT  NOT NULL DEFAULT 0,
    updated_at      BIGINT  NOT NULL DEFAULT 0
);

-- The claim (pending by not_before), NextDue and ExpiredLeases (inflight by
-- lease) read outbox_due and outbox_lease; the claim's "earlier item of this
-- seq_key" check reads outbox_seq.
CREATE INDEX outbox_due ON outbox (state, not_before);
CREATE INDEX outbox_lease ON outbox (state, lease_until);
CREATE INDEX outbox_seq ON outbox (seq_key, id);
CREATE INDEX outbox_message ON outbox (message_id);
CREATE INDEX outbox_conversation ON outbox (conversation_id, id);

CREATE TABLE cursors (
    name       TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE cursors;
DROP TABLE outbox;
DROP TABLE messages;
DROP TABLE conversations;
DROP TABLE customers;
DROP TABLE seen_events;
