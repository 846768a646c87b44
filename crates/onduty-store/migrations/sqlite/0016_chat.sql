-- Chat: channels that get a message for every incident of a service or of a team's
-- services, each incident's message in each channel, and people's chat accounts.
CREATE TABLE chat_channels (
    id TEXT PRIMARY KEY,
    -- slack
    platform TEXT NOT NULL,
    -- The platform's id of the channel (Slack's C0123ABCD).
    channel TEXT NOT NULL,
    service_id TEXT REFERENCES services (id) ON DELETE CASCADE,
    team_id TEXT REFERENCES teams (id) ON DELETE CASCADE,
    -- Why the platform refused the channel for good (channel_not_found, not_in_channel…).
    failing TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX chat_channels_service ON chat_channels (service_id);
CREATE INDEX chat_channels_team ON chat_channels (team_id);
-- An incident's message in a channel: posted once (message_ref is the platform's id of
-- it), then updated in place. `changes` counts the incident's changes, `shown` the one
-- the message shows; it is due while shown < changes.
CREATE TABLE chat_posts (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    chat_channel_id TEXT NOT NULL REFERENCES chat_channels (id) ON DELETE CASCADE,
    message_ref TEXT,
    changes BIGINT NOT NULL,
    shown BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    PRIMARY KEY (incident_id, chat_channel_id)
);
CREATE INDEX chat_posts_due ON chat_posts (next_attempt_at) WHERE shown < changes;
-- Whose chat account is whose onduty user.
CREATE TABLE chat_links (
    platform TEXT NOT NULL,
    chat_user TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (platform, chat_user)
);
