-- The paging engine's state: where each incident stands in its escalation, the
-- notifications planned for people paged, timers, the outbox, and the engine lease.
-- The PostgreSQL migration of the same number is the same.

-- One row per incident that has paged: the policy it escalates through and where it
-- stands. level -1 means "not started": the engine reaches level 0 when next_at comes.
-- next_at NULL: nothing pending (acknowledged, or the policy exhausted); the row stays so
-- that "escalate to the next level" knows where it stood. policy_id NULL: reassigned to
-- people directly, no policy.
CREATE TABLE escalations (
    incident_id TEXT PRIMARY KEY REFERENCES incidents (id),
    policy_id TEXT,
    level BIGINT NOT NULL,
    round BIGINT NOT NULL,
    hand_overs BIGINT NOT NULL,
    next_at BIGINT
);
CREATE INDEX escalations_due ON escalations (next_at) WHERE next_at IS NOT NULL;

-- A person was paged: each of their rules fires at its time, unless the incident is
-- acknowledged first.
CREATE TABLE planned_notifications (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rule_id TEXT NOT NULL,
    contact_method_id TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    -- 1 for a responder added by hand: paged even if the incident is acknowledged.
    responder BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX planned_notifications_due ON planned_notifications (due_at);
CREATE INDEX planned_notifications_incident ON planned_notifications (incident_id);

-- Per-incident timers: ack_timeout (triggers again), snooze (triggers again),
-- auto_resolve (resolves).
CREATE TABLE incident_timers (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    kind TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    PRIMARY KEY (incident_id, kind)
);
CREATE INDEX incident_timers_due ON incident_timers (due_at);

-- Every message is a row here before it is sent.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    incident_id TEXT REFERENCES incidents (id),
    user_id TEXT NOT NULL,
    contact_method_id TEXT NOT NULL,
    -- pending, sent, failed, cancelled
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT,
    last_error TEXT,
    provider_ref TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    -- What the provider reported later (Twilio status callbacks): delivered, failed, …
    delivery_status TEXT,
    delivery_updated_at BIGINT
);
CREATE INDEX outbox_provider_ref ON outbox (provider_ref);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_incident ON outbox (incident_id);
CREATE INDEX outbox_method_sent ON outbox (contact_method_id, sent_at);

-- Exactly one engine per database: whoever holds this lease.
CREATE TABLE engine_lease (
    name TEXT PRIMARY KEY,
    holder TEXT,
    expires_at BIGINT NOT NULL
);
INSERT INTO engine_lease (name, holder, expires_at) VALUES ('engine', NULL, 0);

-- Keys the server makes for itself on first use (the key that signs one-click links in
-- e-mails), shared by every instance on this database.
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Inbound SMS find the person by number.
CREATE INDEX contact_methods_address ON contact_methods (address);
