-- Pre-aggregated counters, so that statistics never scan the logs. Buckets are Unix seconds (UTC) of
-- the start of the minute, hour or day. Text columns are '' rather than NULL: they are key columns.
-- requests counts client requests; latency_ms sums their latencies; attempts sums upstream attempts.
CREATE TABLE IF NOT EXISTS gg_stats_minute (
	bucket BIGINT NOT NULL,
	route VARCHAR(20) NOT NULL,
	model VARCHAR(100) NOT NULL,
	status_code INT NOT NULL,
	requests BIGINT NOT NULL,
	attempts BIGINT NOT NULL,
	latency_ms BIGINT NOT NULL,
	PRIMARY KEY (bucket, route, model, status_code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS gg_stats_hour (
	bucket BIGINT NOT NULL,
	route VARCHAR(20) NOT NULL,
	model VARCHAR(100) NOT NULL,
	status_code INT NOT NULL,
	requests BIGINT NOT NULL,
	attempts BIGINT NOT NULL,
	latency_ms BIGINT NOT NULL,
	PRIMARY KEY (bucket, route, model, status_code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- Upstream attempts per key: what each key did, whichever request it served.
CREATE TABLE IF NOT EXISTS gg_key_stats_hour (
	bucket BIGINT NOT NULL,
	key_id VARCHAR(16) NOT NULL,
	model VARCHAR(100) NOT NULL,
	status_code INT NOT NULL,
	key_masked VARCHAR(32) NOT NULL,
	attempts BIGINT NOT NULL,
	latency_ms BIGINT NOT NULL,
	PRIMARY KEY (bucket, key_id, model, status_code),
	KEY ix_gg_key_stats_hour_key (key_id, bucket),
	KEY ix_gg_key_stats_hour_status (status_code, bucket)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- Requests and tokens per UTC day, key (the one that answered), model and client token.
CREATE TABLE IF NOT EXISTS gg_token_daily (
	day BIGINT NOT NULL,
	key_id VARCHAR(16) NOT NULL,
	model VARCHAR(100) NOT NULL,
	token_id VARCHAR(16) NOT NULL,
	key_masked VARCHAR(32) NOT NULL,
	requests BIGINT NOT NULL,
	prompt_tokens BIGINT NOT NULL,
	output_tokens BIGINT NOT NULL,
	thought_tokens BIGINT NOT NULL,
	cached_tokens BIGINT NOT NULL,
	PRIMARY KEY (day, key_id, model, token_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
