-- +goose Up
-- A conversation's thread is found through chat_threads, a narrow table,
-- rather than an index on conversations (on Postgres this lets recording a
-- card's thread skip every index of conversations; here it keeps the
-- dialects alike). Triggers keep chat_threads in step with every write of
-- a conversation's thread; a lookup joins back to conversations, so an
-- entry left behind by a thread that changed finds nothing.
CREATE TABLE chat_threads (
    chat_platform   TEXT    NOT NULL,
    chat_channel    TEXT    NOT NULL,
    chat_thread_id  TEXT    NOT NULL,
    conversation_id BIGINT  NOT NULL,
    PRIMARY KEY (chat_platform, chat_channel, chat_thread_id, conversation_id)
) WITHOUT ROWID;
INSERT INTO chat_threads (chat_platform, chat_channel, chat_thread_id, conversation_id)
SELECT chat_platform, chat_channel, chat_thread_id, id FROM conversations WHERE chat_thread_id <> '';

CREATE TRIGGER conversations_thread_insert AFTER INSERT ON conversations
WHEN NEW.chat_thread_id <> ''
BEGIN
    INSERT OR IGNORE INTO chat_threads (chat_platform, chat_channel, chat_thread_id, conversation_id)
    VALUES (NEW.chat_platform, NEW.chat_channel, NEW.chat_thread_id, NEW.id);
END;
CREATE TRIGGER conversations_thread_update AFTER UPDATE OF chat_platform, chat_channel, chat_thread_id ON conversations
WHEN NEW.chat_thread_id <> '' AND (OLD.chat_platform IS NOT NEW.chat_platform
    OR OLD.chat_channel IS NOT NEW.chat_channel OR OLD.chat_thread_id IS NOT NEW.chat_thread_id)
BEGIN
    INSERT OR IGNORE INTO chat_threads (chat_platform, chat_channel, chat_thread_id, conversation_id)
    VALUES (NEW.chat_platform, NEW.chat_channel, NEW.chat_thread_id, NEW.id);
END;
DROP INDEX conversations_thread;

-- The newest conversation of a key is found through conversations_customer.
DROP INDEX conversations_key;

-- +goose Down
CREATE INDEX conversations_key ON conversations (account, kind, x_key, customer_id, id);
CREATE INDEX conversations_thread ON conversations (chat_platform, chat_channel, chat_thread_id);
DROP TRIGGER conversations_thread_update;
DROP TRIGGER conversations_thread_insert;
DROP TABLE chat_threads;
