-- onduty's first schema (SQLite). Times are epoch milliseconds; ids are UUIDv7 text;
-- JSON is text. The PostgreSQL migration of the same number defines the same tables.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE services (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    dedup_mode TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE integrations (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    routing_key TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX integrations_service ON integrations (service_id);

-- Installation-wide counters (incident numbers).
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('incident_number', 0);

CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    service_id TEXT NOT NULL REFERENCES services (id),
    dedup_key TEXT NOT NULL,
    -- Equal to dedup_key while this incident absorbs triggers with it, NULL otherwise.
    open_key TEXT,
    status TEXT NOT NULL,
    summary TEXT NOT NULL,
    severity TEXT NOT NULL,
    details TEXT NOT NULL,
    alert_count BIGINT NOT NULL,
    last_event_at BIGINT NOT NULL,
    last_event_summary TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    acknowledged_at BIGINT,
    acknowledged_by TEXT,
    resolved_at BIGINT,
    resolved_by TEXT,
    -- Bumped by every write; writers check it (optimistic concurrency between instances).
    version BIGINT NOT NULL
);
-- The dedup invariant, enforced by the database: one key holder per service and key.
CREATE UNIQUE INDEX incidents_open_key ON incidents (service_id, open_key);
CREATE INDEX incidents_open_dedup ON incidents (dedup_key, service_id) WHERE status <> 'resolved';
CREATE INDEX incidents_status_number ON incidents (status, number);
CREATE INDEX incidents_service_number ON incidents (service_id, number);
CREATE INDEX incidents_created ON incidents (created_at);

CREATE TABLE incident_assignees (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    assigned_at BIGINT NOT NULL,
    PRIMARY KEY (incident_id, user_id)
);
CREATE INDEX incident_assignees_user ON incident_assignees (user_id);

-- Events that touched no incident (acknowledge or resolve with nothing open, change
-- events), as accepted (routing key removed). Events that touched incidents are kept in
-- their timeline entries.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    integration_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    dedup_key TEXT,
    outcome TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX events_changes ON events (service_id, seq) WHERE kind = 'change';

CREATE TABLE timeline (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    message TEXT NOT NULL,
    -- The event behind the entry, if any, as accepted (routing key removed).
    event_id TEXT,
    event TEXT,
    data TEXT
);
CREATE INDEX timeline_incident ON timeline (incident_id, seq);
