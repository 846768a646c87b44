-- Teams, escalation policies, contact methods, notification rules, and the service
-- settings paging needs. The PostgreSQL migration of the same number is the same.

CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, user_id)
);

ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';

CREATE TABLE escalation_policies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    team_id TEXT REFERENCES teams (id),
    -- JSON: {"levels": [{"targets": [...], "delay_minutes": 30, "mode": "all"}], "repeat": 0}
    steps TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Round-robin levels remember whose turn is next, across incidents.
CREATE TABLE rotation_pointers (
    policy_id TEXT NOT NULL REFERENCES escalation_policies (id) ON DELETE CASCADE,
    level BIGINT NOT NULL,
    next BIGINT NOT NULL,
    PRIMARY KEY (policy_id, level)
);

ALTER TABLE services ADD COLUMN team_id TEXT REFERENCES teams (id);
ALTER TABLE services ADD COLUMN policy_id TEXT REFERENCES escalation_policies (id);
-- high, low, or severity (critical and error are high)
ALTER TABLE services ADD COLUMN urgency TEXT NOT NULL DEFAULT 'high';
ALTER TABLE services ADD COLUMN ack_timeout_minutes BIGINT;
ALTER TABLE services ADD COLUMN auto_resolve_minutes BIGINT;

ALTER TABLE incidents ADD COLUMN urgency TEXT NOT NULL DEFAULT 'high';

CREATE TABLE contact_methods (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    verified BIGINT NOT NULL,
    failing TEXT,
    -- Webhooks only: the secret their signatures are made with.
    secret TEXT,
    -- SHA-256 of the pending verification code, its expiry and the attempts made.
    code_hash TEXT,
    code_expires_at BIGINT,
    code_attempts BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, channel, address)
);

CREATE TABLE notification_rules (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    contact_method_id TEXT NOT NULL REFERENCES contact_methods (id) ON DELETE CASCADE,
    delay_minutes BIGINT NOT NULL,
    urgency TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX notification_rules_user ON notification_rules (user_id);
