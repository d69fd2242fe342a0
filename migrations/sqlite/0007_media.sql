-- +goose Up
-- Files of messages: a customer's photos, GIFs and videos on their way to
-- the chat thread (direction 'in'), an agent's files on their way to X
-- ('out'). chat_file_id and x_media_id record what the platforms created,
-- so that a retry after a crash neither loses nor repeats a transfer.
CREATE TABLE attachments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      BIGINT  NOT NULL REFERENCES messages (id),
    conversation_id BIGINT  NOT NULL DEFAULT 0,
    direction       TEXT    NOT NULL DEFAULT '',
    kind            TEXT    NOT NULL DEFAULT '',
    source_url      TEXT    NOT NULL DEFAULT '',
    page_url        TEXT    NOT NULL DEFAULT '',
    media_key       TEXT    NOT NULL DEFAULT '',
    name            TEXT    NOT NULL DEFAULT '',
    content_type    TEXT    NOT NULL DEFAULT '',
    size            BIGINT  NOT NULL DEFAULT 0,
    alt_text        TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL DEFAULT 'pending',
    chat_file_id    TEXT    NOT NULL DEFAULT '',
    x_media_id      TEXT    NOT NULL DEFAULT '',
    expires_at      BIGINT  NOT NULL DEFAULT 0,
    error           TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL DEFAULT 0,
    updated_at      BIGINT  NOT NULL DEFAULT 0
);

CREATE INDEX attachments_message ON attachments (message_id, id);

-- +goose Down
DROP TABLE attachments;
