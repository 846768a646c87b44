-- Drafts: when an incident opens on a service that stands behind a component, onduty
-- drafts a public incident for a person to publish (1 here: not shown, its components'
-- states not set); a page with auto_publish publishes such drafts at once.
ALTER TABLE status_incidents ADD COLUMN draft BIGINT NOT NULL DEFAULT 0;
ALTER TABLE status_pages ADD COLUMN auto_publish BIGINT NOT NULL DEFAULT 0;
-- Read on every engine tick: the components standing for a service (drafts), and the
-- public incidents still open that tell of an onduty incident (reminders).
CREATE INDEX status_components_service ON status_components (service_id);
CREATE INDEX status_incidents_open_links ON status_incidents (incident_id) WHERE resolved_at IS NULL;
