-- On-call schedules: layered rotations (JSON, computed by the core), overrides, and the
-- secrets of calendar feeds.
CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    team_id TEXT REFERENCES teams (id),
    -- JSON: [{"name", "participants": [user ids], "start": "2026-06-01T09:00", "shift": {"unit": "weeks", "count": 1}, "restrictions": [...]}], bottom layer first
    layers TEXT NOT NULL,
    -- The secret in the schedule's calendar feed URL; rotated on request.
    feed_token TEXT NOT NULL UNIQUE,
    -- Goes up with every change, so that readers can keep what they parsed.
    revision BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE schedule_overrides (
    id TEXT PRIMARY KEY,
    schedule_id TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id),
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX schedule_overrides_span ON schedule_overrides (schedule_id, end_at);

-- A person's own calendar feed ("my shifts in every schedule").
CREATE TABLE user_schedule_settings (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    feed_token TEXT UNIQUE,
    -- Minutes before a shift starts to tell the person (and they are told when it ends);
    -- NULL: no handoff notifications.
    handoff_notice_minutes BIGINT
);

-- Handoff notifications already queued, so each is sent once.
CREATE TABLE handoff_notices (
    schedule_id TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    -- start or end
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (schedule_id, user_id, kind, at)
);

-- Messages that are not about an incident (handoff notifications) carry their text.
ALTER TABLE outbox ADD COLUMN notice TEXT;
