-- BIGSERIAL: INSERT ... ON CONFLICT DO UPDATE draws a sequence value for every row, updated or not,
-- and the whole key pool is upserted again and again.
CREATE TABLE IF NOT EXISTS t_api_keys (
	id BIGSERIAL PRIMARY KEY,
	api_key VARCHAR(255) NOT NULL UNIQUE,
	failure_count INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NULL,
	last_error_code INTEGER NULL,
	last_error_at TIMESTAMPTZ NULL,
	last_used_at TIMESTAMPTZ NULL,
	disabled BOOLEAN NOT NULL DEFAULT FALSE,
	disabled_reason VARCHAR(255) NULL,
	created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
	updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
