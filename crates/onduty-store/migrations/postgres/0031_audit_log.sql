-- The audit log: one row per change a person or their API token made. Rows are only
-- added, and deleted by data retention once past `[retention] audit_days`; nothing
-- changes one (the trigger refuses it).
CREATE TABLE audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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

CREATE FUNCTION audit_log_unchangeable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit log entries cannot be changed';
END;
$$;
CREATE TRIGGER audit_log_unchangeable BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_unchangeable();
