-- Maintenance windows: while one is on, the events of its services open no incident and
-- page nobody (they are recorded with the outcome 'maintenance'). Every window ends.
CREATE TABLE maintenance_windows (
    id TEXT PRIMARY KEY,
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    -- When to remind the creator that it is ending; NULL once reminded (or never).
    remind_at BIGINT
);
CREATE INDEX maintenance_windows_end ON maintenance_windows (end_at);
CREATE INDEX maintenance_windows_remind ON maintenance_windows (remind_at);

CREATE TABLE maintenance_services (
    window_id TEXT NOT NULL REFERENCES maintenance_windows (id) ON DELETE CASCADE,
    service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    PRIMARY KEY (window_id, service_id)
);
CREATE INDEX maintenance_services_service ON maintenance_services (service_id);
