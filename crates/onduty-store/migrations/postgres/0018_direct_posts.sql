-- A page sent as a direct message in chat (Slack, Telegram, Mattermost), one row per
-- message: `channel` and `message_ref` are the platform's ids of the conversation and the
-- message, `shown_status` the incident status it shows. It is brought up to date in place
-- whenever the incident's status differs, and forgotten once it shows the incident
-- resolved.
CREATE TABLE direct_posts (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    contact_method_id TEXT NOT NULL REFERENCES contact_methods (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    message_ref TEXT NOT NULL,
    shown_status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    PRIMARY KEY (incident_id, contact_method_id, message_ref)
);
