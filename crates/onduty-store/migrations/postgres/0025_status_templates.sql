-- Incident templates of a status page: a title, a status, what the public reads and the
-- states its components take, ready to publish in a hurry.
CREATE TABLE status_templates (
    id TEXT PRIMARY KEY,
    page_id TEXT NOT NULL REFERENCES status_pages (id) ON DELETE CASCADE,
    -- What people call it ("Database degraded"); unique on its page.
    name TEXT NOT NULL,
    -- The public incident's title.
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    -- The states it sets: JSON [["<component id>", "<state>"], …].
    components TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (page_id, name)
);

-- Read on every engine tick: scheduled maintenance the clock moves on (it starts, then
-- completes, each told as an update).
CREATE INDEX status_incidents_open_maintenance ON status_incidents (scheduled_until)
    WHERE resolved_at IS NULL AND scheduled_for IS NOT NULL;

-- How often a public incident left open after its onduty incident is resolved is
-- reminded of, per page.
ALTER TABLE status_pages ADD COLUMN remind_every_minutes BIGINT NOT NULL DEFAULT 30;
