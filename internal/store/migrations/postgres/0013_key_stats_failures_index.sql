-- The keys-needing-attention list is the only reader of the status index of gg_key_stats_hour, and
-- only for statuses of 300 and above (400, 403, 429): an index of those rows alone is not written for
-- a success, which with 100,000 keys in rotation is nearly every new key × hour row. (MySQL has no
-- partial index and keeps the whole one.)
DROP INDEX IF EXISTS ix_gg_key_stats_hour_status;
CREATE INDEX IF NOT EXISTS ix_gg_key_stats_hour_failures ON gg_key_stats_hour (status_code, bucket) WHERE status_code >= 300;
