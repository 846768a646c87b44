-- What reports read, one row per incident, kept by the incident writer (effects.rs) as
-- incidents change. Clustered by creation time, so a report's period is one range scan.
CREATE TABLE incident_facts (
    created_at BIGINT NOT NULL,
    incident_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    urgency TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    -- The first acknowledgement, by anyone, and what it came through
    -- (onduty_core::lifecycle::AckChannel); both NULL until then.
    acknowledged_at BIGINT,
    ack_via TEXT,
    -- The last resolution; NULL while open (a re-opened incident is open again).
    resolved_at BIGINT,
    -- 1 when resolved by an event or onduty's timer rather than a person.
    auto_resolved BIGINT NOT NULL,
    -- 1 once paging went past the first level or round of its policy.
    escalated BIGINT NOT NULL,
    -- How often it re-opened within the flap window.
    reopens BIGINT NOT NULL,
    -- Its alert count as of its last change of state (open incidents: see incidents).
    alerts BIGINT NOT NULL,
    PRIMARY KEY (created_at, incident_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX incident_facts_incident ON incident_facts (incident_id);

-- What each person did about each incident: first paged (any channel), first
-- acknowledged, first resolved. One row per incident and person.
CREATE TABLE responder_facts (
    incident_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    urgency TEXT NOT NULL,
    paged_at BIGINT,
    acknowledged_at BIGINT,
    resolved_at BIGINT,
    PRIMARY KEY (incident_id, user_id)
);
CREATE INDEX responder_facts_paged ON responder_facts (paged_at) WHERE paged_at IS NOT NULL;
CREATE INDEX responder_facts_acknowledged ON responder_facts (acknowledged_at) WHERE acknowledged_at IS NOT NULL;
CREATE INDEX responder_facts_resolved ON responder_facts (resolved_at) WHERE resolved_at IS NOT NULL;

-- The incidents there already are.
INSERT INTO incident_facts (created_at, incident_id, service_id, urgency, dedup_key,
    acknowledged_at, ack_via, resolved_at, auto_resolved, escalated, reopens, alerts)
SELECT i.created_at, i.id, i.service_id, i.urgency, i.dedup_key,
    (SELECT MIN(t.at) FROM timeline t WHERE t.incident_id = i.id AND t.kind = 'acknowledged'),
    (SELECT CASE
        WHEN t.message LIKE '%(acknowledge event)%' THEN 'event'
        WHEN t.message LIKE '%via the web UI%' THEN 'web'
        WHEN t.message LIKE '%via the API%' THEN 'api'
        WHEN t.message LIKE '%via SMS%' THEN 'sms'
        WHEN t.message LIKE '%via a phone call%' THEN 'voice'
        WHEN t.message LIKE '%via a one-click link%' THEN 'email'
        WHEN t.message LIKE '%via Slack%' OR t.message LIKE '%via Telegram%'
          OR t.message LIKE '%via Mattermost%' OR t.message LIKE '%via Microsoft Teams%'
          OR t.message LIKE '%via Discord%' THEN 'chat'
        END
     FROM timeline t WHERE t.incident_id = i.id AND t.kind = 'acknowledged'
     ORDER BY t.seq LIMIT 1),
    i.resolved_at,
    CASE WHEN i.resolved_by IS NOT NULL AND i.resolved_by NOT LIKE '{"type":"user"%' THEN 1 ELSE 0 END,
    CASE WHEN EXISTS (SELECT 1 FROM escalations e WHERE e.incident_id = i.id AND (e.level > 0 OR e.round > 0))
        THEN 1 ELSE 0 END,
    (SELECT COUNT(*) FROM timeline t WHERE t.incident_id = i.id AND t.kind = 'reopened'),
    i.alert_count
FROM incidents i;

INSERT INTO responder_facts (incident_id, user_id, service_id, urgency, paged_at, acknowledged_at, resolved_at)
SELECT p.incident_id, p.user_id, f.service_id, f.urgency, MIN(p.paged_at), MIN(p.ack_at), MIN(p.res_at)
FROM (
    SELECT incident_id, user_id, created_at AS paged_at, NULL AS ack_at, NULL AS res_at
    FROM outbox WHERE incident_id IS NOT NULL AND notice IS NULL AND clears = 0
    UNION ALL
    SELECT incident_id, json_extract(actor, '$.id'), NULL, at, NULL
    FROM timeline WHERE kind = 'acknowledged' AND json_extract(actor, '$.type') = 'user'
    UNION ALL
    SELECT incident_id, json_extract(actor, '$.id'), NULL, NULL, at
    FROM timeline WHERE kind = 'resolved' AND json_extract(actor, '$.type') = 'user'
) p JOIN incident_facts f ON f.incident_id = p.incident_id
GROUP BY p.incident_id, p.user_id, f.service_id, f.urgency;
