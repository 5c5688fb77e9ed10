-- BIGINT id: INSERT ... ON DUPLICATE KEY UPDATE uses up an AUTO_INCREMENT value for every row it
-- updates, and the whole key pool is upserted again and again.
-- api_key is compared byte for byte: keys differing only in case are different keys.
CREATE TABLE IF NOT EXISTS t_api_keys (
	id BIGINT NOT NULL AUTO_INCREMENT,
	api_key VARCHAR(255) NOT NULL,
	failure_count INT NOT NULL DEFAULT 0,
	last_error TEXT NULL,
	last_error_code INT NULL,
	last_error_at DATETIME(6) NULL,
	last_used_at DATETIME(6) NULL,
	disabled BOOLEAN NOT NULL DEFAULT FALSE,
	disabled_reason VARCHAR(255) NULL,
	created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	PRIMARY KEY (id),
	UNIQUE KEY uq_t_api_keys_api_key (api_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
