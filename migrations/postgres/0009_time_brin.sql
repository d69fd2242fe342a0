-- +goose Up
-- The reports read conversations and SLA targets from a moment on. Both
-- tables take rows in the order of those times, so a BRIN index (a few
-- bytes per range of pages, not written on insert until the range is
-- summarized) finds them as well as a B-tree did, and the intake, which
-- writes a conversation and two targets per new customer, no longer pays
-- a B-tree insert for each.
DROP INDEX conversations_created;
CREATE INDEX conversations_created ON conversations USING brin (created_at);
DROP INDEX sla_targets_started;
CREATE INDEX sla_targets_started ON sla_targets USING brin (started_at);

-- +goose Down
DROP INDEX sla_targets_started;
CREATE INDEX sla_targets_started ON sla_targets (started_at);
DROP INDEX conversations_created;
CREATE INDEX conversations_created ON conversations (created_at);
