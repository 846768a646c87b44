-- Subscribers of a public status page: people by e-mail (kept only once they confirm,
-- double opt-in) and webhooks added by an admin. Their addresses are never shown on a
-- public page.
CREATE TABLE status_subscribers (
    id TEXT PRIMARY KEY,
    page_id TEXT NOT NULL REFERENCES status_pages (id) ON DELETE CASCADE,
    -- 'email' or 'webhook'
    kind TEXT NOT NULL,
    -- The e-mail address (lower case) or the webhook's URL.
    address TEXT NOT NULL,
    -- A webhook's signing secret.
    secret TEXT,
    -- The random token in the subscriber's confirm and unsubscribe links.
    token TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    -- NULL until the person follows the link in the confirmation mail.
    confirmed_at BIGINT,
    UNIQUE (page_id, kind, address)
);

-- The components a subscriber chose; none: the whole page.
CREATE TABLE status_subscriber_components (
    subscriber_id TEXT NOT NULL REFERENCES status_subscribers (id) ON DELETE CASCADE,
    component_id TEXT NOT NULL REFERENCES status_components (id) ON DELETE CASCADE,
    PRIMARY KEY (subscriber_id, component_id)
);

-- The subscribers' outbox: one row per message to one subscriber, written in the same
-- transaction as what it tells of, sent and retried by the engine. The id names the
-- subscriber and what is told, so nothing is queued twice.
CREATE TABLE status_deliveries (
    id TEXT PRIMARY KEY,
    subscriber_id TEXT NOT NULL REFERENCES status_subscribers (id) ON DELETE CASCADE,
    -- 'confirm' (the opt-in mail), 'incident' (an update posted) or 'component' (a state
    -- taken, for webhooks).
    kind TEXT NOT NULL,
    status_incident_id TEXT REFERENCES status_incidents (id) ON DELETE CASCADE,
    update_id TEXT,
    component_id TEXT REFERENCES status_components (id) ON DELETE CASCADE,
    -- The change told of: the same id for every subscriber.
    change_id TEXT,
    old_status TEXT,
    new_status TEXT,
    -- pending, sent, failed
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX status_deliveries_due ON status_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX status_deliveries_subscriber ON status_deliveries (subscriber_id);
CREATE INDEX status_subscribers_page ON status_subscribers (page_id) WHERE confirmed_at IS NOT NULL;
