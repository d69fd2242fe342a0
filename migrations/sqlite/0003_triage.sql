-- +goose Up
-- Triage: who works a conversation, its tags, why and by whom it was
-- closed, its escalations to engineering, every action on it, and which
-- agents take new conversations.
ALTER TABLE conversations ADD COLUMN assignee_id TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN assignee_name TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN tags TEXT NOT NULL DEFAULT ''; -- space-separated, sorted
ALTER TABLE conversations ADD COLUMN escalation_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN closed_by_name TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN close_reason TEXT NOT NULL DEFAULT '';
CREATE INDEX conversations_assignee ON conversations (chat_platform, assignee_id, status);
CREATE INDEX conversations_customer ON conversations (customer_id, id);

CREATE TABLE escalations (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id  BIGINT NOT NULL REFERENCES conversations (id),
    platform         TEXT   NOT NULL DEFAULT '',
    channel          TEXT   NOT NULL DEFAULT '',
    thread_id        TEXT   NOT NULL DEFAULT '',
    summary          TEXT   NOT NULL DEFAULT '',
    opened_by_id     TEXT   NOT NULL DEFAULT '',
    opened_by_name   TEXT   NOT NULL DEFAULT '',
    opened_at        BIGINT NOT NULL DEFAULT 0,
    resolved_at      BIGINT NOT NULL DEFAULT 0,
    resolved_by_name TEXT   NOT NULL DEFAULT '',
    resolution       TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX escalations_thread ON escalations (platform, channel, thread_id);
CREATE INDEX escalations_conversation ON escalations (conversation_id, id);

CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id BIGINT NOT NULL DEFAULT 0,
    actor_id        TEXT   NOT NULL DEFAULT '',
    actor_name      TEXT   NOT NULL DEFAULT '',
    action          TEXT   NOT NULL DEFAULT '',
    before_value    TEXT   NOT NULL DEFAULT '',
    after_value     TEXT   NOT NULL DEFAULT '',
    source          TEXT   NOT NULL DEFAULT '',
    at              BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX audit_conversation ON audit_log (conversation_id, id);

CREATE TABLE agents (
    platform         TEXT   NOT NULL,
    user_id          TEXT   NOT NULL,
    name             TEXT   NOT NULL DEFAULT '',
    available        INTEGER NOT NULL DEFAULT 0,
    last_assigned_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (platform, user_id)
);

-- +goose Down
DROP TABLE agents;
DROP TABLE audit_log;
DROP TABLE escalations;
DROP INDEX conversations_customer;
DROP INDEX conversations_assignee;
ALTER TABLE conversations DROP COLUMN close_reason;
ALTER TABLE conversations DROP COLUMN closed_by_name;
ALTER TABLE conversations DROP COLUMN escalation_id;
ALTER TABLE conversations DROP COLUMN tags;
ALTER TABLE conversations DROP COLUMN assignee_name;
ALTER TABLE conversations DROP COLUMN assignee_id;
