-- Overrides are numbered in the order they are made (seq, given by the database), so
-- that where overrides overlap the one made last wins, even when two are made in the same
-- millisecond. Overrides made before are numbered by when they were made, then by id (the
-- order that decided between them until now). SQLite numbers rows only through an
-- INTEGER PRIMARY KEY, so the table is made anew.
CREATE TABLE schedule_overrides_numbered (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    schedule_id TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id),
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO schedule_overrides_numbered (seq, id, schedule_id, user_id, start_at, end_at, created_at)
SELECT ROW_NUMBER() OVER (ORDER BY created_at, id), id, schedule_id, user_id, start_at, end_at, created_at
FROM schedule_overrides;
DROP TABLE schedule_overrides;
ALTER TABLE schedule_overrides_numbered RENAME TO schedule_overrides;
CREATE INDEX schedule_overrides_span ON schedule_overrides (schedule_id, end_at);
