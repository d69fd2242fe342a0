-- +goose Up
-- The first tier: the conversation's language, what automation did with it
-- (an FAQ answer, a hand-over to a human), the acknowledgement, the
-- suggested priority and why, the satisfaction survey, and read receipts.
ALTER TABLE conversations ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN automation TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN acked_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN priority_hint TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN csat_asked_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN csat_score INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN csat_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN typing_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN seen_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX conversations_created ON conversations (created_at);

-- +goose Down
DROP INDEX conversations_created;
ALTER TABLE messages DROP COLUMN seen_at;
ALTER TABLE conversations DROP COLUMN typing_at;
ALTER TABLE conversations DROP COLUMN csat_at;
ALTER TABLE conversations DROP COLUMN csat_score;
ALTER TABLE conversations DROP COLUMN csat_asked_at;
ALTER TABLE conversations DROP COLUMN priority_hint;
ALTER TABLE conversations DROP COLUMN acked_at;
ALTER TABLE conversations DROP COLUMN automation;
ALTER TABLE conversations DROP COLUMN language;
