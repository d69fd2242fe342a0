-- +goose Up
-- A conversation's thread is found through chat_threads, a narrow table,
-- rather than an index on conversations: recording a new card's thread
-- then changes no indexed column of conversations, so Postgres writes it
-- as a heap-only update (fillfactor leaves room on each page) instead of
-- a new entry in each of its indexes. The statements that write a thread
-- (recording a card's thread, updating a conversation) add its entry too,
-- and a trigger does for a conversation created with one; a lookup joins
-- back to conversations, so an entry left behind by a thread that changed
-- finds nothing.
CREATE TABLE chat_threads (
    chat_platform   TEXT   NOT NULL,
    chat_channel    TEXT   NOT NULL,
    chat_thread_id  TEXT   NOT NULL,
    conversation_id BIGINT NOT NULL,
    PRIMARY KEY (chat_platform, chat_channel, chat_thread_id, conversation_id)
);
INSERT INTO chat_threads (chat_platform, chat_channel, chat_thread_id, conversation_id)
SELECT chat_platform, chat_channel, chat_thread_id, id FROM conversations WHERE chat_thread_id <> '';

CREATE FUNCTION record_chat_thread() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chat_threads (chat_platform, chat_channel, chat_thread_id, conversation_id)
    VALUES (NEW.chat_platform, NEW.chat_channel, NEW.chat_thread_id, NEW.id)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER conversations_thread_insert AFTER INSERT ON conversations
    FOR EACH ROW WHEN (NEW.chat_thread_id <> '') EXECUTE FUNCTION record_chat_thread();
DROP INDEX conversations_thread;

-- The newest conversation of a key is found through conversations_customer
-- (a customer has few conversations), which every insert writes anyway.
DROP INDEX conversations_key;

ALTER TABLE conversations SET (fillfactor = 70);

-- +goose Down
ALTER TABLE conversations RESET (fillfactor);
CREATE INDEX conversations_key ON conversations (account, kind, x_key, customer_id, id);
CREATE INDEX conversations_thread ON conversations (chat_platform, chat_channel, chat_thread_id);
DROP TRIGGER conversations_thread_insert ON conversations;
DROP FUNCTION record_chat_thread();
DROP TABLE chat_threads;
