-- A request is looked up by the id its answer gave (Opsgenie's request status): in the
-- timeline when it touched an incident, in events when it did not.
CREATE INDEX events_id ON events (id);
CREATE INDEX timeline_event ON timeline (event_id) WHERE event_id IS NOT NULL;
