-- The audit log: one row per change a person or their API token made. Rows are only
-- added, and deleted by data retention once past `[retention] audit_days`; nothing
-- changes one (the trigger refuses it). AUTOINCREMENT: a number is never given twice,
-- even once every row has been pruned, so page cursors stay meaningful.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    who TEXT NOT NULL,
    door TEXT NOT NULL,
    token TEXT,
    address TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT,
    after TEXT
);
CREATE INDEX audit_log_user ON audit_log (user_id, id);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TRIGGER audit_log_unchangeable BEFORE UPDATE ON audit_log BEGIN
    SELECT RAISE(ABORT, 'audit log entries cannot be changed');
END;
