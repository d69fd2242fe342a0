-- +goose Up
-- Saved replies are previewed before they are sent: reply-with renders the
-- template and shows it to the agent who asked, with Send and Cancel
-- buttons; the row keeps the exact text until one of them is clicked, so
-- what the agent saw is what the customer gets, and a second click on Send
-- finds the preview already sent.
CREATE TABLE reply_previews (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    name            TEXT   NOT NULL DEFAULT '',
    text            TEXT   NOT NULL DEFAULT '',
    platform        TEXT   NOT NULL DEFAULT '',
    actor_id        TEXT   NOT NULL DEFAULT '',
    state           TEXT   NOT NULL DEFAULT 'pending',
    message_id      BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL DEFAULT 0,
    updated_at      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX reply_previews_created ON reply_previews (created_at);

-- +goose Down
DROP INDEX reply_previews_created;
DROP TABLE reply_previews;
