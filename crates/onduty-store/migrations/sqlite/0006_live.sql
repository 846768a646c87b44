-- Live pages ask "has any incident changed?" every second: the newest number and the
-- latest change, both read from an index.
CREATE INDEX incidents_updated ON incidents (updated_at);
