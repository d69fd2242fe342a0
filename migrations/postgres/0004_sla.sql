-- +goose Up
-- SLA targets and the alerts they fired. The scheduler finds due targets
-- through sla_targets_due (live targets only); sla_alerts_once makes every
-- alert fire once per conversation, metric, cycle, level and seq, whatever
-- restarts or replicas do.
CREATE TABLE sla_targets (
    id              BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT  NOT NULL REFERENCES conversations (id),
    metric          TEXT    NOT NULL,
    cycle           INTEGER NOT NULL,
    state           TEXT    NOT NULL,
    budget          BIGINT  NOT NULL DEFAULT 0, -- microseconds of business time
    elapsed         BIGINT  NOT NULL DEFAULT 0, -- microseconds of business time
    segment_start   BIGINT  NOT NULL DEFAULT 0,
    started_at      BIGINT  NOT NULL DEFAULT 0,
    warn_at         BIGINT  NOT NULL DEFAULT 0,
    due_at          BIGINT  NOT NULL DEFAULT 0,
    next_check      BIGINT  NOT NULL DEFAULT 0,
    breached        BOOLEAN NOT NULL DEFAULT FALSE,
    alerts          INTEGER NOT NULL DEFAULT 0,
    ended_at        BIGINT  NOT NULL DEFAULT 0,
    updated_at      BIGINT  NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX sla_targets_cycle ON sla_targets (conversation_id, metric, cycle);
CREATE INDEX sla_targets_due ON sla_targets (next_check)
    WHERE state IN ('running', 'imminent', 'breached') AND next_check > 0;
CREATE INDEX sla_targets_started ON sla_targets (started_at);

CREATE TABLE sla_alerts (
    id              BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT  NOT NULL,
    target_id       BIGINT  NOT NULL,
    metric          TEXT    NOT NULL,
    cycle           INTEGER NOT NULL,
    level           TEXT    NOT NULL,
    seq             INTEGER NOT NULL DEFAULT 0,
    due_at          BIGINT  NOT NULL DEFAULT 0,
    fired_at        BIGINT  NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX sla_alerts_once ON sla_alerts (conversation_id, metric, cycle, level, seq);

-- +goose Down
DROP TABLE sla_alerts;
DROP TABLE sla_targets;
