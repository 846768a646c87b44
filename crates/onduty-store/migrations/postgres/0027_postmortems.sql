-- Postmortems: what was learnt from one or more incidents.
CREATE TABLE postmortems (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    -- draft, in_review or published (read-only then, except for its action items).
    status TEXT NOT NULL,
    owner_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    summary TEXT NOT NULL,
    contributing_factors TEXT NOT NULL,
    went_well TEXT NOT NULL,
    went_badly TEXT NOT NULL,
    -- Its timeline: JSON [{at, text, marked, incident, kind}], oldest first.
    timeline TEXT NOT NULL,
    provisional_due BIGINT NOT NULL,
    final_due BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    published_at BIGINT,
    -- One more for each change: an edit made from an older version is refused.
    version BIGINT NOT NULL
);

-- The incidents a postmortem is about; an incident is in at most one.
CREATE TABLE postmortem_incidents (
    postmortem_id TEXT NOT NULL REFERENCES postmortems (id) ON DELETE CASCADE,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    PRIMARY KEY (postmortem_id, incident_id)
);
CREATE UNIQUE INDEX postmortem_incidents_incident ON postmortem_incidents (incident_id);

-- What will be done so it does not happen again.
CREATE TABLE postmortem_actions (
    id TEXT PRIMARY KEY,
    postmortem_id TEXT NOT NULL REFERENCES postmortems (id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    owner_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    due_at BIGINT,
    -- An issue in a tracker, optional.
    link TEXT,
    done_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX postmortem_actions_of ON postmortem_actions (postmortem_id);

-- Incidents whose resolution drafts a postmortem: high urgency, resolved. The engine
-- looks at those resolved since its mark (engine_marks), once each.
CREATE INDEX incidents_resolved_high ON incidents (resolved_at)
    WHERE status = 'resolved' AND urgency = 'high';
CREATE TABLE engine_marks (
    name TEXT PRIMARY KEY,
    at BIGINT NOT NULL
);
