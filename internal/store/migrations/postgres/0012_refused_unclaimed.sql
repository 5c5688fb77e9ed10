-- Requests that gemgate answered without asking Google (wrong route, wrong token, bad request): counted
-- apart, so that the dashboard's failures are those of the keys and of Google, not the clients' mistakes.
ALTER TABLE gg_stats_minute ADD COLUMN refused BIGINT NOT NULL DEFAULT 0;
ALTER TABLE gg_stats_hour ADD COLUMN refused BIGINT NOT NULL DEFAULT 0;
-- The admin token gemgate generated on its first start, by fingerprint (the first 32 hex digits of its
-- SHA-256), while no one has logged in with it yet: every start prints it again until then, so a first
-- start that failed after generating it (port busy) cannot lose it.
CREATE TABLE IF NOT EXISTS gg_unclaimed_token (
	auth_tag VARCHAR(32) NOT NULL,
	PRIMARY KEY (auth_tag)
);
