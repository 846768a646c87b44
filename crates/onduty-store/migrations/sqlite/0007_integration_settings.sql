-- How an integration reads what it receives (JSON; see IntegrationSettings).
ALTER TABLE integrations ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
