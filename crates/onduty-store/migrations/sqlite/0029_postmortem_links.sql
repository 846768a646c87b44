-- 1: a high-urgency incident of this service drafts a postmortem when it resolves.
ALTER TABLE services ADD COLUMN draft_postmortems BIGINT NOT NULL DEFAULT 1;
-- A published postmortem shown with a public incident (its status reads 'postmortem').
ALTER TABLE status_incidents ADD COLUMN postmortem_id TEXT REFERENCES postmortems (id) ON DELETE SET NULL;
CREATE INDEX status_incidents_postmortem ON status_incidents (postmortem_id);
