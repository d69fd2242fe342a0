-- +goose Up
-- Postgres moves its time indexes of conversations and SLA targets to BRIN
-- here; SQLite has no BRIN and keeps its B-trees. This keeps the two
-- dialects' migrations numbered alike.
SELECT 1;

-- +goose Down
SELECT 1;
