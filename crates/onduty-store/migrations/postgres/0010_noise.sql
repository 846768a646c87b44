-- Noise control, per service (NULL is off): triggers with other keys arriving within
-- group_window_minutes of an incident opening join it; a trigger arriving within
-- flap_window_minutes of its key's incident resolving re-opens that incident.
ALTER TABLE services ADD COLUMN group_window_minutes BIGINT;
ALTER TABLE services ADD COLUMN flap_window_minutes BIGINT;

-- The alerts of an incident that others joined, as JSON: [{"key": …, "resolved_at": …}],
-- its own key first. NULL for an incident nothing joined.
ALTER TABLE incidents ADD COLUMN alerts TEXT;

-- Which incident each joined key belongs to, so that its later events find it.
CREATE TABLE incident_alert_keys (
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    service_id TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    PRIMARY KEY (incident_id, dedup_key)
);
CREATE INDEX incident_alert_keys_key ON incident_alert_keys (dedup_key, service_id);

-- Resolved incidents by key, for the flap window.
CREATE INDEX incidents_resolved_key ON incidents (dedup_key, service_id, resolved_at) WHERE status = 'resolved';
