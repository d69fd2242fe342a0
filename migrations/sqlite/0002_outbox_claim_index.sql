-- +goose Up
-- The claim walks pending items in priority, id order and stops at its
-- limit; without this index it had to test every pending item (and sort
-- them) on each claim, so a backlog made every claim slower.
CREATE INDEX outbox_claim ON outbox (priority, id) WHERE state = 'pending';

-- +goose Down
DROP INDEX outbox_claim;
