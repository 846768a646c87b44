-- Runbooks: what to do when an alert fires, kept per service and, within it, per alert.
CREATE TABLE runbooks (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    -- Which of the service's incidents it is for: 'service' (any), 'alertname',
    -- 'dedup_key' or 'summary'.
    scope TEXT NOT NULL,
    -- The alert name or the pattern; '' for the whole service.
    pattern TEXT NOT NULL,
    title TEXT NOT NULL,
    -- Exactly one of the two: a link to where the runbook is kept, or its Markdown.
    url TEXT,
    markdown TEXT,
    -- The newest of its versions in runbook_revisions.
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (service_id, scope, pattern)
);

-- Every version of every runbook, the current one included: its history.
CREATE TABLE runbook_revisions (
    runbook_id TEXT NOT NULL REFERENCES runbooks (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    scope TEXT NOT NULL,
    pattern TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT,
    markdown TEXT,
    changed_at BIGINT NOT NULL,
    -- Who wrote this version: an actor as JSON.
    changed_by TEXT NOT NULL,
    PRIMARY KEY (runbook_id, version)
);
