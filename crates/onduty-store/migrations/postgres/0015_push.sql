-- Push notifications (ntfy): a rule may page again every so many seconds until the
-- incident is acknowledged, and a push is taken back from the phone once it is.
ALTER TABLE notification_rules ADD COLUMN repeat_seconds BIGINT;
-- 1 for a message that takes back the pushes sent about its incident (an ntfy clear).
ALTER TABLE outbox ADD COLUMN clears BIGINT NOT NULL DEFAULT 0;
-- Incidents pushed to a contact method and not taken back yet.
CREATE TABLE pushed (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    contact_method_id TEXT NOT NULL REFERENCES contact_methods (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    PRIMARY KEY (incident_id, contact_method_id)
);
