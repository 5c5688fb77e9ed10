-- Gemini Balance's t_request_log columns (it had no PostgreSQL support; this keeps the same columns).
-- gemgate writes one row per client request; the attempts behind it are in the attempts column.
-- api_key holds the masked key, never the key.
CREATE TABLE IF NOT EXISTS t_request_log (
	id BIGSERIAL PRIMARY KEY,
	request_time TIMESTAMPTZ NULL,
	model_name VARCHAR(100) NULL,
	api_key VARCHAR(100) NULL,
	is_success BOOLEAN NOT NULL,
	status_code INTEGER NULL,
	latency_ms INTEGER NULL
);
ALTER TABLE t_request_log ADD COLUMN IF NOT EXISTS request_id VARCHAR(32) NULL;
ALTER TABLE t_request_log ADD COLUMN IF NOT EXISTS key_id VARCHAR(16) NULL;
ALTER TABLE t_request_log ADD COLUMN IF NOT EXISTS token_id VARCHAR(16) NULL;
ALTER TABLE t_request_log ADD COLUMN IF NOT EXISTS route VARCHAR(20) NULL;
ALTER TABLE t_request_log ADD COLUMN IF NOT EXISTS method VARCHAR(10) NULL;
ALTER TABLE t_request_log ADD COLUMN IF NOT EXISTS path VARCHAR(255) NULL;
ALTER TABLE t_request_log ADD COLUMN IF NOT EXISTS stream BOOLEAN NULL;
ALTER TABLE t_request_log ADD COLUMN IF NOT EXISTS attempt_count INTEGER NULL;
ALTER TABLE t_request_log ADD COLUMN IF NOT EXISTS attempts TEXT NULL;
ALTER TABLE t_request_log ADD COLUMN IF NOT EXISTS error TEXT NULL;
ALTER TABLE t_request_log ADD COLUMN IF NOT EXISTS prompt_tokens INTEGER NULL;
ALTER TABLE t_request_log ADD COLUMN IF NOT EXISTS output_tokens INTEGER NULL;
ALTER TABLE t_request_log ADD COLUMN IF NOT EXISTS thought_tokens INTEGER NULL;
ALTER TABLE t_request_log ADD COLUMN IF NOT EXISTS cached_tokens INTEGER NULL;
UPDATE t_request_log SET api_key = CASE WHEN char_length(api_key) >= 12
		THEN left(api_key, 4) || '…' || right(api_key, 4) ELSE '••••••••' END
	WHERE key_id IS NULL AND char_length(api_key) > 0 AND api_key NOT LIKE '%…%';
CREATE INDEX IF NOT EXISTS ix_t_request_log_time ON t_request_log (request_time);
CREATE INDEX IF NOT EXISTS ix_t_request_log_key ON t_request_log (key_id, request_time);
CREATE INDEX IF NOT EXISTS ix_t_request_log_token ON t_request_log (token_id, request_time);
CREATE INDEX IF NOT EXISTS ix_t_request_log_model ON t_request_log (model_name, request_time);
CREATE INDEX IF NOT EXISTS ix_t_request_log_status ON t_request_log (status_code, request_time);
CREATE INDEX IF NOT EXISTS ix_t_request_log_request ON t_request_log (request_id);
