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
-- Open incidents: their alert count is read from the incident (folds change only it).
CREATE INDEX incident_facts_open ON incident_facts (created_at) WHERE resolved_at IS NULL;

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
    page_class TEXT,
    page_week BIGINT,
    PRIMARY KEY (incident_id, user_id)
);
-- Pages sorted by when they came on the paged person's clock (a report.rs HourClass,
-- and the Monday starting their week there, in days since 1970), written by the engine
-- soon after the page; NULL until then.
CREATE INDEX responder_facts_unsorted ON responder_facts (paged_at)
    WHERE paged_at IS NOT NULL AND page_class IS NULL;
-- In person order, so that counting per person is one ordered scan.
CREATE INDEX responder_facts_pages ON responder_facts
    (user_id, page_class, page_week, paged_at, service_id, urgency);
CREATE INDEX responder_facts_acknowledged ON responder_facts
    (user_id, acknowledged_at, service_id, urgency);
CREATE INDEX responder_facts_resolved ON responder_facts
    (user_id, resolved_at, service_id, urgency);

-- Roll-ups of incident_facts by the UTC day an incident opened, kept exact by triggers:
-- every insert, change or removal of a fact row takes its old contribution out and puts
-- its new one in. Reports read these for whole days, and the facts for part-days.
CREATE TABLE report_days (
    day BIGINT NOT NULL,
    service_id TEXT NOT NULL,
    urgency TEXT NOT NULL,
    incidents BIGINT NOT NULL,
    alerts BIGINT NOT NULL,
    acknowledged BIGINT NOT NULL,
    ack_millis BIGINT NOT NULL,
    resolved BIGINT NOT NULL,
    resolve_millis BIGINT NOT NULL,
    escalated BIGINT NOT NULL,
    auto_resolved BIGINT NOT NULL,
    reopens BIGINT NOT NULL,
    heartbeats BIGINT NOT NULL,
    via_web BIGINT NOT NULL,
    via_sms BIGINT NOT NULL,
    via_voice BIGINT NOT NULL,
    via_email BIGINT NOT NULL,
    via_chat BIGINT NOT NULL,
    via_push BIGINT NOT NULL,
    via_api BIGINT NOT NULL,
    via_event BIGINT NOT NULL,
    PRIMARY KEY (day, service_id, urgency)
) WITHOUT ROWID;
-- Times to acknowledge and resolve in whole seconds, in seconds order so that a
-- histogram is one ordered scan.
CREATE TABLE report_durations (
    kind TEXT NOT NULL,
    seconds BIGINT NOT NULL,
    day BIGINT NOT NULL,
    service_id TEXT NOT NULL,
    urgency TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (kind, seconds, day, service_id, urgency)
) WITHOUT ROWID;
-- Incidents, alerts and re-openings by alert key, in key order.
CREATE TABLE report_keys (
    service_id TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    day BIGINT NOT NULL,
    urgency TEXT NOT NULL,
    incidents BIGINT NOT NULL,
    alerts BIGINT NOT NULL,
    reopens BIGINT NOT NULL,
    PRIMARY KEY (service_id, dedup_key, day, urgency)
) WITHOUT ROWID;
-- The same two by day, for short periods.
CREATE INDEX report_durations_by_day ON report_durations (kind, day, seconds, service_id, urgency, n);
CREATE INDEX report_keys_by_day ON report_keys (day, service_id, dedup_key, urgency, incidents, alerts, reopens);
CREATE TRIGGER incident_facts_added AFTER INSERT ON incident_facts BEGIN
    INSERT INTO report_days (day, service_id, urgency, incidents, alerts, acknowledged, ack_millis, resolved, resolve_millis, escalated, auto_resolved, reopens, heartbeats, via_web, via_sms, via_voice, via_email, via_chat, via_push, via_api, via_event)
    VALUES (NEW.created_at / 86400000, NEW.service_id, NEW.urgency,
        1,
        NEW.alerts,
        (CASE WHEN NEW.acknowledged_at IS NULL THEN 0 ELSE 1 END),
        COALESCE(NEW.acknowledged_at - NEW.created_at, 0),
        (CASE WHEN NEW.resolved_at IS NULL THEN 0 ELSE 1 END),
        COALESCE(NEW.resolved_at - NEW.created_at, 0),
        NEW.escalated,
        (CASE WHEN NEW.resolved_at IS NULL THEN 0 ELSE NEW.auto_resolved END),
        NEW.reopens,
        (CASE WHEN NEW.dedup_key = 'heartbeat' THEN 1 ELSE 0 END),
        (CASE WHEN NEW.ack_via = 'web' THEN 1 ELSE 0 END),
        (CASE WHEN NEW.ack_via = 'sms' THEN 1 ELSE 0 END),
        (CASE WHEN NEW.ack_via = 'voice' THEN 1 ELSE 0 END),
        (CASE WHEN NEW.ack_via = 'email' THEN 1 ELSE 0 END),
        (CASE WHEN NEW.ack_via = 'chat' THEN 1 ELSE 0 END),
        (CASE WHEN NEW.ack_via = 'push' THEN 1 ELSE 0 END),
        (CASE WHEN NEW.ack_via = 'api' THEN 1 ELSE 0 END),
        (CASE WHEN NEW.ack_via = 'event' THEN 1 ELSE 0 END))
    ON CONFLICT (day, service_id, urgency) DO UPDATE SET
        incidents = report_days.incidents + excluded.incidents,
        alerts = report_days.alerts + excluded.alerts,
        acknowledged = report_days.acknowledged + excluded.acknowledged,
        ack_millis = report_days.ack_millis + excluded.ack_millis,
        resolved = report_days.resolved + excluded.resolved,
        resolve_millis = report_days.resolve_millis + excluded.resolve_millis,
        escalated = report_days.escalated + excluded.escalated,
        auto_resolved = report_days.auto_resolved + excluded.auto_resolved,
        reopens = report_days.reopens + excluded.reopens,
        heartbeats = report_days.heartbeats + excluded.heartbeats,
        via_web = report_days.via_web + excluded.via_web,
        via_sms = report_days.via_sms + excluded.via_sms,
        via_voice = report_days.via_voice + excluded.via_voice,
        via_email = report_days.via_email + excluded.via_email,
        via_chat = report_days.via_chat + excluded.via_chat,
        via_push = report_days.via_push + excluded.via_push,
        via_api = report_days.via_api + excluded.via_api,
        via_event = report_days.via_event + excluded.via_event;
    INSERT INTO report_durations (kind, seconds, day, service_id, urgency, n)
    SELECT 'ack', (NEW.acknowledged_at - NEW.created_at) / 1000, NEW.created_at / 86400000, NEW.service_id, NEW.urgency, 1
    WHERE NEW.acknowledged_at IS NOT NULL
    ON CONFLICT (kind, seconds, day, service_id, urgency) DO UPDATE SET n = report_durations.n + excluded.n;
    INSERT INTO report_durations (kind, seconds, day, service_id, urgency, n)
    SELECT 'resolve', (NEW.resolved_at - NEW.created_at) / 1000, NEW.created_at / 86400000, NEW.service_id, NEW.urgency, 1
    WHERE NEW.resolved_at IS NOT NULL
    ON CONFLICT (kind, seconds, day, service_id, urgency) DO UPDATE SET n = report_durations.n + excluded.n;
    INSERT INTO report_keys (service_id, dedup_key, day, urgency, incidents, alerts, reopens)
    VALUES (NEW.service_id, NEW.dedup_key, NEW.created_at / 86400000, NEW.urgency, 1, NEW.alerts, NEW.reopens)
    ON CONFLICT (service_id, dedup_key, day, urgency) DO UPDATE SET
        incidents = report_keys.incidents + excluded.incidents,
        alerts = report_keys.alerts + excluded.alerts,
        reopens = report_keys.reopens + excluded.reopens;
END;
CREATE TRIGGER incident_facts_removed AFTER DELETE ON incident_facts BEGIN
    INSERT INTO report_days (day, service_id, urgency, incidents, alerts, acknowledged, ack_millis, resolved, resolve_millis, escalated, auto_resolved, reopens, heartbeats, via_web, via_sms, via_voice, via_email, via_chat, via_push, via_api, via_event)
    VALUES (OLD.created_at / 86400000, OLD.service_id, OLD.urgency,
        -1,
        -OLD.alerts,
        -(CASE WHEN OLD.acknowledged_at IS NULL THEN 0 ELSE 1 END),
        -COALESCE(OLD.acknowledged_at - OLD.created_at, 0),
        -(CASE WHEN OLD.resolved_at IS NULL THEN 0 ELSE 1 END),
        -COALESCE(OLD.resolved_at - OLD.created_at, 0),
        -OLD.escalated,
        -(CASE WHEN OLD.resolved_at IS NULL THEN 0 ELSE OLD.auto_resolved END),
        -OLD.reopens,
        -(CASE WHEN OLD.dedup_key = 'heartbeat' THEN 1 ELSE 0 END),
        -(CASE WHEN OLD.ack_via = 'web' THEN 1 ELSE 0 END),
        -(CASE WHEN OLD.ack_via = 'sms' THEN 1 ELSE 0 END),
        -(CASE WHEN OLD.ack_via = 'voice' THEN 1 ELSE 0 END),
        -(CASE WHEN OLD.ack_via = 'email' THEN 1 ELSE 0 END),
        -(CASE WHEN OLD.ack_via = 'chat' THEN 1 ELSE 0 END),
        -(CASE WHEN OLD.ack_via = 'push' THEN 1 ELSE 0 END),
        -(CASE WHEN OLD.ack_via = 'api' THEN 1 ELSE 0 END),
        -(CASE WHEN OLD.ack_via = 'event' THEN 1 ELSE 0 END))
    ON CONFLICT (day, service_id, urgency) DO UPDATE SET
        incidents = report_days.incidents + excluded.incidents,
        alerts = report_days.alerts + excluded.alerts,
        acknowledged = report_days.acknowledged + excluded.acknowledged,
        ack_millis = report_days.ack_millis + excluded.ack_millis,
        resolved = report_days.resolved + excluded.resolved,
        resolve_millis = report_days.resolve_millis + excluded.resolve_millis,
        escalated = report_days.escalated + excluded.escalated,
        auto_resolved = report_days.auto_resolved + excluded.auto_resolved,
        reopens = report_days.reopens + excluded.reopens,
        heartbeats = report_days.heartbeats + excluded.heartbeats,
        via_web = report_days.via_web + excluded.via_web,
        via_sms = report_days.via_sms + excluded.via_sms,
        via_voice = report_days.via_voice + excluded.via_voice,
        via_email = report_days.via_email + excluded.via_email,
        via_chat = report_days.via_chat + excluded.via_chat,
        via_push = report_days.via_push + excluded.via_push,
        via_api = report_days.via_api + excluded.via_api,
        via_event = report_days.via_event + excluded.via_event;
    INSERT INTO report_durations (kind, seconds, day, service_id, urgency, n)
    SELECT 'ack', (OLD.acknowledged_at - OLD.created_at) / 1000, OLD.created_at / 86400000, OLD.service_id, OLD.urgency, -1
    WHERE OLD.acknowledged_at IS NOT NULL
    ON CONFLICT (kind, seconds, day, service_id, urgency) DO UPDATE SET n = report_durations.n + excluded.n;
    INSERT INTO report_durations (kind, seconds, day, service_id, urgency, n)
    SELECT 'resolve', (OLD.resolved_at - OLD.created_at) / 1000, OLD.created_at / 86400000, OLD.service_id, OLD.urgency, -1
    WHERE OLD.resolved_at IS NOT NULL
    ON CONFLICT (kind, seconds, day, service_id, urgency) DO UPDATE SET n = report_durations.n + excluded.n;
    INSERT INTO report_keys (service_id, dedup_key, day, urgency, incidents, alerts, reopens)
    VALUES (OLD.service_id, OLD.dedup_key, OLD.created_at / 86400000, OLD.urgency, -1, -OLD.alerts, -OLD.reopens)
    ON CONFLICT (service_id, dedup_key, day, urgency) DO UPDATE SET
        incidents = report_keys.incidents + excluded.incidents,
        alerts = report_keys.alerts + excluded.alerts,
        reopens = report_keys.reopens + excluded.reopens;
END;
CREATE TRIGGER incident_facts_changed AFTER UPDATE ON incident_facts BEGIN
    INSERT INTO report_days (day, service_id, urgency, incidents, alerts, acknowledged, ack_millis, resolved, resolve_millis, escalated, auto_resolved, reopens, heartbeats, via_web, via_sms, via_voice, via_email, via_chat, via_push, via_api, via_event)
    VALUES (OLD.created_at / 86400000, OLD.service_id, OLD.urgency,
        -1,
        -OLD.alerts,
        -(CASE WHEN OLD.acknowledged_at IS NULL THEN 0 ELSE 1 END),
        -COALESCE(OLD.acknowledged_at - OLD.created_at, 0),
        -(CASE WHEN OLD.resolved_at IS NULL THEN 0 ELSE 1 END),
        -COALESCE(OLD.resolved_at - OLD.created_at, 0),
        -OLD.escalated,
        -(CASE WHEN OLD.resolved_at IS NULL THEN 0 ELSE OLD.auto_resolved END),
        -OLD.reopens,
        -(CASE WHEN OLD.dedup_key = 'heartbeat' THEN 1 ELSE 0 END),
        -(CASE WHEN OLD.ack_via = 'web' THEN 1 ELSE 0 END),
        -(CASE WHEN OLD.ack_via = 'sms' THEN 1 ELSE 0 END),
        -(CASE WHEN OLD.ack_via = 'voice' THEN 1 ELSE 0 END),
        -(CASE WHEN OLD.ack_via = 'email' THEN 1 ELSE 0 END),
        -(CASE WHEN OLD.ack_via = 'chat' THEN 1 ELSE 0 END),
        -(CASE WHEN OLD.ack_via = 'push' THEN 1 ELSE 0 END),
        -(CASE WHEN OLD.ack_via = 'api' THEN 1 ELSE 0 END),
        -(CASE WHEN OLD.ack_via = 'event' THEN 1 ELSE 0 END))
    ON CONFLICT (day, service_id, urgency) DO UPDATE SET
        incidents = report_days.incidents + excluded.incidents,
        alerts = report_days.alerts + excluded.alerts,
        acknowledged = report_days.acknowledged + excluded.acknowledged,
        ack_millis = report_days.ack_millis + excluded.ack_millis,
        resolved = report_days.resolved + excluded.resolved,
        resolve_millis = report_days.resolve_millis + excluded.resolve_millis,
        escalated = report_days.escalated + excluded.escalated,
        auto_resolved = report_days.auto_resolved + excluded.auto_resolved,
        reopens = report_days.reopens + excluded.reopens,
        heartbeats = report_days.heartbeats + excluded.heartbeats,
        via_web = report_days.via_web + excluded.via_web,
        via_sms = report_days.via_sms + excluded.via_sms,
        via_voice = report_days.via_voice + excluded.via_voice,
        via_email = report_days.via_email + excluded.via_email,
        via_chat = report_days.via_chat + excluded.via_chat,
        via_push = report_days.via_push + excluded.via_push,
        via_api = report_days.via_api + excluded.via_api,
        via_event = report_days.via_event + excluded.via_event;
    INSERT INTO report_durations (kind, seconds, day, service_id, urgency, n)
    SELECT 'ack', (OLD.acknowledged_at - OLD.created_at) / 1000, OLD.created_at / 86400000, OLD.service_id, OLD.urgency, -1
    WHERE OLD.acknowledged_at IS NOT NULL
    ON CONFLICT (kind, seconds, day, service_id, urgency) DO UPDATE SET n = report_durations.n + excluded.n;
    INSERT INTO report_durations (kind, seconds, day, service_id, urgency, n)
    SELECT 'resolve', (OLD.resolved_at - OLD.created_at) / 1000, OLD.created_at / 86400000, OLD.service_id, OLD.urgency, -1
    WHERE OLD.resolved_at IS NOT NULL
    ON CONFLICT (kind, seconds, day, service_id, urgency) DO UPDATE SET n = report_durations.n + excluded.n;
    INSERT INTO report_keys (service_id, dedup_key, day, urgency, incidents, alerts, reopens)
    VALUES (OLD.service_id, OLD.dedup_key, OLD.created_at / 86400000, OLD.urgency, -1, -OLD.alerts, -OLD.reopens)
    ON CONFLICT (service_id, dedup_key, day, urgency) DO UPDATE SET
        incidents = report_keys.incidents + excluded.incidents,
        alerts = report_keys.alerts + excluded.alerts,
        reopens = report_keys.reopens + excluded.reopens;
    INSERT INTO report_days (day, service_id, urgency, incidents, alerts, acknowledged, ack_millis, resolved, resolve_millis, escalated, auto_resolved, reopens, heartbeats, via_web, via_sms, via_voice, via_email, via_chat, via_push, via_api, via_event)
    VALUES (NEW.created_at / 86400000, NEW.service_id, NEW.urgency,
        1,
        NEW.alerts,
        (CASE WHEN NEW.acknowledged_at IS NULL THEN 0 ELSE 1 END),
        COALESCE(NEW.acknowledged_at - NEW.created_at, 0),
        (CASE WHEN NEW.resolved_at IS NULL THEN 0 ELSE 1 END),
        COALESCE(NEW.resolved_at - NEW.created_at, 0),
        NEW.escalated,
        (CASE WHEN NEW.resolved_at IS NULL THEN 0 ELSE NEW.auto_resolved END),
        NEW.reopens,
        (CASE WHEN NEW.dedup_key = 'heartbeat' THEN 1 ELSE 0 END),
        (CASE WHEN NEW.ack_via = 'web' THEN 1 ELSE 0 END),
        (CASE WHEN NEW.ack_via = 'sms' THEN 1 ELSE 0 END),
        (CASE WHEN NEW.ack_via = 'voice' THEN 1 ELSE 0 END),
        (CASE WHEN NEW.ack_via = 'email' THEN 1 ELSE 0 END),
        (CASE WHEN NEW.ack_via = 'chat' THEN 1 ELSE 0 END),
        (CASE WHEN NEW.ack_via = 'push' THEN 1 ELSE 0 END),
        (CASE WHEN NEW.ack_via = 'api' THEN 1 ELSE 0 END),
        (CASE WHEN NEW.ack_via = 'event' THEN 1 ELSE 0 END))
    ON CONFLICT (day, service_id, urgency) DO UPDATE SET
        incidents = report_days.incidents + excluded.incidents,
        alerts = report_days.alerts + excluded.alerts,
        acknowledged = report_days.acknowledged + excluded.acknowledged,
        ack_millis = report_days.ack_millis + excluded.ack_millis,
        resolved = report_days.resolved + excluded.resolved,
        resolve_millis = report_days.resolve_millis + excluded.resolve_millis,
        escalated = report_days.escalated + excluded.escalated,
        auto_resolved = report_days.auto_resolved + excluded.auto_resolved,
        reopens = report_days.reopens + excluded.reopens,
        heartbeats = report_days.heartbeats + excluded.heartbeats,
        via_web = report_days.via_web + excluded.via_web,
        via_sms = report_days.via_sms + excluded.via_sms,
        via_voice = report_days.via_voice + excluded.via_voice,
        via_email = report_days.via_email + excluded.via_email,
        via_chat = report_days.via_chat + excluded.via_chat,
        via_push = report_days.via_push + excluded.via_push,
        via_api = report_days.via_api + excluded.via_api,
        via_event = report_days.via_event + excluded.via_event;
    INSERT INTO report_durations (kind, seconds, day, service_id, urgency, n)
    SELECT 'ack', (NEW.acknowledged_at - NEW.created_at) / 1000, NEW.created_at / 86400000, NEW.service_id, NEW.urgency, 1
    WHERE NEW.acknowledged_at IS NOT NULL
    ON CONFLICT (kind, seconds, day, service_id, urgency) DO UPDATE SET n = report_durations.n + excluded.n;
    INSERT INTO report_durations (kind, seconds, day, service_id, urgency, n)
    SELECT 'resolve', (NEW.resolved_at - NEW.created_at) / 1000, NEW.created_at / 86400000, NEW.service_id, NEW.urgency, 1
    WHERE NEW.resolved_at IS NOT NULL
    ON CONFLICT (kind, seconds, day, service_id, urgency) DO UPDATE SET n = report_durations.n + excluded.n;
    INSERT INTO report_keys (service_id, dedup_key, day, urgency, incidents, alerts, reopens)
    VALUES (NEW.service_id, NEW.dedup_key, NEW.created_at / 86400000, NEW.urgency, 1, NEW.alerts, NEW.reopens)
    ON CONFLICT (service_id, dedup_key, day, urgency) DO UPDATE SET
        incidents = report_keys.incidents + excluded.incidents,
        alerts = report_keys.alerts + excluded.alerts,
        reopens = report_keys.reopens + excluded.reopens;
END;


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
    -- Paging went past the first level or round: as the escalation stands, or as its
    -- timeline tells (an acknowledgement undone starts the escalation again).
    CASE WHEN EXISTS (SELECT 1 FROM escalations e WHERE e.incident_id = i.id AND (e.level > 0 OR e.round > 0))
        OR EXISTS (SELECT 1 FROM timeline t WHERE t.incident_id = i.id AND t.kind = 'escalated'
            AND ((t.message LIKE 'Escalation policy %, level %' AND t.message NOT LIKE '%, level 1:%')
                OR (t.message LIKE 'Escalated to level %' AND t.message NOT LIKE 'Escalated to level 1 %')))
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

-- Settings admins change while onduty runs (onduty_core::settings::OrgSettings); a
-- setting without a row has its default.
CREATE TABLE org_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Sleep-hour budgets gone over, each told once: a person and the Monday of their week.
CREATE TABLE sleep_budget_notices (
    user_id TEXT NOT NULL,
    week BIGINT NOT NULL,
    noticed_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, week)
);

-- Reminders sent about postmortems (due dates nearing or passed) and their action items
-- (overdue): each once (onduty_core::postmortem::reminders::ReminderKind).
CREATE TABLE postmortem_reminders (
    subject_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (subject_id, kind)
);
