-- Data retention walks resolved incidents from the oldest resolution (its mark in
-- engine_marks) to prune their timelines. The PostgreSQL migration of the same number is
-- the same.
CREATE INDEX incidents_resolved_at ON incidents (resolved_at) WHERE status = 'resolved';
