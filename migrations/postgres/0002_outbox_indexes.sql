-- +goose Up
-- The claim walks pending items in priority, id order and stops at its
-- limit; without outbox_claim it tested every pending item (and sorted
-- them) on each claim, so a backlog made every claim slower. The other
-- outbox indexes only ever serve live items, so they hold only those: a
-- delivered item leaves them, and recording a delivery writes less.
CREATE INDEX outbox_claim ON outbox (priority, id) WHERE state = 'pending';
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (not_before) WHERE state = 'pending';
DROP INDEX outbox_lease;
CREATE INDEX outbox_lease ON outbox (lease_until) WHERE state = 'inflight';
DROP INDEX outbox_seq;
CREATE INDEX outbox_seq ON outbox (seq_key, id) WHERE state IN ('pending', 'inflight');

-- +goose Down
DROP INDEX outbox_seq;
CREATE INDEX outbox_seq ON outbox (seq_key, id);
DROP INDEX outbox_lease;
CREATE INDEX outbox_lease ON outbox (state, lease_until);
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (state, not_before);
DROP INDEX outbox_claim;
