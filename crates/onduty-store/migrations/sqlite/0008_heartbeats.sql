-- Heartbeats: jobs that must ping in time. Each owns an integration (kind 'heartbeat')
-- whose key is in its ping URL; lateness and failures become events of that integration.
CREATE TABLE heartbeats (
    id TEXT PRIMARY KEY,
    integration_id TEXT NOT NULL UNIQUE REFERENCES integrations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- JSON: onduty_core::heartbeat::Expect.
    expect TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_ping_at BIGINT,
    last_ping TEXT,
    last_body TEXT,
    last_success_at BIGINT,
    -- new | up | late | failing
    state TEXT NOT NULL,
    -- When it is overdue unless it pings; NULL while late (it has been reported).
    due_at BIGINT
);
CREATE INDEX heartbeats_due ON heartbeats (due_at);
