-- With ENCRYPTION_KEY set, api_key holds a ciphertext that differs on every write, so rows are found
-- by key_hash, the key's HMAC under a key derived from ENCRYPTION_KEY. NULL while keys are stored in
-- plain text; a unique index admits any number of NULLs. ON DUPLICATE KEY UPDATE fires on it too.
ALTER TABLE t_api_keys ADD COLUMN key_hash VARCHAR(64) NULL;
CREATE UNIQUE INDEX uq_t_api_keys_key_hash ON t_api_keys (key_hash);
-- Client tokens managed in the admin panel, each with its own limits (ALLOWED_TOKENS stays the list of
-- tokens without limits). token is encrypted when ENCRYPTION_KEY is set; token_hash (SHA-256, or an
-- HMAC with ENCRYPTION_KEY) keeps tokens unique. Times are Unix seconds; models is a JSON list of
-- allowed model names or globs, empty for all; used_day and used_count carry the daily quota across
-- restarts and instances.
CREATE TABLE IF NOT EXISTS t_client_tokens (
	id BIGINT NOT NULL AUTO_INCREMENT,
	token_hash VARCHAR(64) NOT NULL,
	token TEXT NOT NULL,
	name VARCHAR(100) NOT NULL,
	enabled BOOLEAN NOT NULL DEFAULT TRUE,
	expires_at BIGINT NULL,
	models TEXT NULL,
	daily_quota BIGINT NOT NULL DEFAULT 0,
	used_day VARCHAR(10) NULL,
	used_count BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (id),
	UNIQUE KEY uq_t_client_tokens_token_hash (token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
