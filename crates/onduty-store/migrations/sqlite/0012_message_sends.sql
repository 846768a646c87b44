-- Verification codes and test messages sent (not pages), for the hourly limits per person
-- and for the whole server. Rows older than a day are removed as new ones are added.
CREATE TABLE message_sends (
    at BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    contact_method_id TEXT NOT NULL,
    -- code | test
    kind TEXT NOT NULL
);
CREATE INDEX message_sends_at ON message_sends (at);
