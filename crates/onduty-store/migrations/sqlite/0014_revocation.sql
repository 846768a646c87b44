-- A disabled person cannot log in or use a token and is not paged; a deleted one is
-- disabled for good and leaves the lists, while history keeps their name.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
ALTER TABLE users ADD COLUMN deleted_at BIGINT;
