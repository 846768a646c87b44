-- A public incident may tell of an onduty incident: both link to each other, and once the
-- onduty incident is resolved while the public one is not, whoever acknowledged it (or
-- published it) is reminded until the public one is resolved or kept open on purpose.
ALTER TABLE status_incidents ADD COLUMN incident_id TEXT REFERENCES incidents (id) ON DELETE SET NULL;
ALTER TABLE status_incidents ADD COLUMN created_by TEXT REFERENCES users (id) ON DELETE SET NULL;
-- When the last reminder went; NULL: none yet.
ALTER TABLE status_incidents ADD COLUMN reminded_at BIGINT;
-- 1: someone chose to keep it open after the onduty incident was resolved; no reminders.
ALTER TABLE status_incidents ADD COLUMN keep_open BIGINT NOT NULL DEFAULT 0;
CREATE INDEX status_incidents_incident ON status_incidents (incident_id);
