-- Public status pages: components, public incidents and scheduled maintenance, shown
-- without log-in and through Statuspage's public API. Nothing internal is copied here:
-- every row is written by a person (or by a page's automatic setting).
CREATE TABLE status_pages (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- A host name of its own (status.example.com), served at its root; NULL: none.
    host TEXT UNIQUE,
    time_zone TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE status_components (
    id TEXT PRIMARY KEY,
    page_id TEXT NOT NULL REFERENCES status_pages (id) ON DELETE CASCADE,
    -- The group it is shown in: a component of the same page whose is_group is 1.
    group_id TEXT REFERENCES status_components (id) ON DELETE SET NULL,
    is_group BIGINT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    position BIGINT NOT NULL,
    status TEXT NOT NULL,
    only_show_if_degraded BIGINT NOT NULL,
    -- The onduty service it stands for, if any.
    service_id TEXT REFERENCES services (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX status_components_page ON status_components (page_id, position);

-- Every state a component took, and when: its uptime.
CREATE TABLE status_component_changes (
    component_id TEXT NOT NULL REFERENCES status_components (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX status_component_changes_at ON status_component_changes (component_id, at);

-- Public incidents and scheduled maintenance (kind 'incident' or 'maintenance').
CREATE TABLE status_incidents (
    id TEXT PRIMARY KEY,
    page_id TEXT NOT NULL REFERENCES status_pages (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    -- As set by a person; a maintenance's status at a moment also follows the clock.
    status TEXT NOT NULL,
    impact TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    monitoring_at BIGINT,
    resolved_at BIGINT,
    scheduled_for BIGINT,
    scheduled_until BIGINT,
    -- The maintenance window that quiets paging over the same span, if any.
    window_id TEXT REFERENCES maintenance_windows (id) ON DELETE SET NULL
);
CREATE INDEX status_incidents_page ON status_incidents (page_id, created_at);

CREATE TABLE status_incident_components (
    status_incident_id TEXT NOT NULL REFERENCES status_incidents (id) ON DELETE CASCADE,
    component_id TEXT NOT NULL REFERENCES status_components (id) ON DELETE CASCADE,
    PRIMARY KEY (status_incident_id, component_id)
);

CREATE TABLE status_updates (
    id TEXT PRIMARY KEY,
    status_incident_id TEXT NOT NULL REFERENCES status_incidents (id) ON DELETE CASCADE,
    -- 1 for an incident's first update, 2 for the next…
    n BIGINT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- What the update set its components to: JSON [{"code", "name", "old_status", "new_status"}].
    affected_components TEXT NOT NULL
);
CREATE UNIQUE INDEX status_updates_incident ON status_updates (status_incident_id, n);
