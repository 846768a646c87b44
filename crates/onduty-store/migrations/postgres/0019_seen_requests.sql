-- Callbacks already received (a Slack request's signature, a Mattermost click's trigger
-- id, a Telegram update's id), by their SHA-256, so that a replay is refused by whichever
-- instance it reaches. Forgotten once it could no longer be replayed.
CREATE TABLE seen_requests (
    source TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (source, fingerprint)
);
CREATE INDEX seen_requests_age ON seen_requests (seen_at);
