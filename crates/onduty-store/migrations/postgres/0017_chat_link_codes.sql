-- One-time codes that link a chat account to an onduty user (Telegram: /start <code>).
CREATE TABLE chat_link_codes (
    code_hash TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);
