-- Overrides are numbered in the order they are made (seq, given by the database), so
-- that where overrides overlap the one made last wins, even when two are made in the same
-- millisecond. Overrides made before are numbered by when they were made, then by id (the
-- order that decided between them until now); new ones follow them.
ALTER TABLE schedule_overrides ADD COLUMN seq BIGINT;
UPDATE schedule_overrides o SET seq = n.seq
FROM (
    SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id COLLATE "C") AS seq
    FROM schedule_overrides
) n
WHERE o.id = n.id;
ALTER TABLE schedule_overrides ALTER COLUMN seq SET NOT NULL;
ALTER TABLE schedule_overrides ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY;
SELECT setval(
    pg_get_serial_sequence('schedule_overrides', 'seq'),
    (SELECT COALESCE(MAX(seq), 0) + 1 FROM schedule_overrides),
    false
);
ALTER TABLE schedule_overrides DROP CONSTRAINT schedule_overrides_pkey;
ALTER TABLE schedule_overrides ADD PRIMARY KEY (seq);
ALTER TABLE schedule_overrides ADD UNIQUE (id);
