-- The web UI: passwords (argon2id hashes) and browser sessions.
ALTER TABLE users ADD COLUMN password_hash TEXT;

CREATE TABLE web_sessions (
    -- SHA-256 of the cookie's secret; the secret itself is never stored.
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Every form of the session carries it back.
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);
