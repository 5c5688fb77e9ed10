-- Gemini Balance's t_error_logs columns. One row per failed upstream attempt or refused request;
-- gemini_key holds the masked key and key_id the key's id. request_msg is TEXT, not JSONB: JSONB
-- refuses the \u0000 escape, which a request body may carry.
CREATE TABLE IF NOT EXISTS t_error_logs (
	id BIGSERIAL PRIMARY KEY,
	gemini_key VARCHAR(100) NULL,
	model_name VARCHAR(100) NULL,
	error_type VARCHAR(50) NULL,
	error_log TEXT NULL,
	error_code INTEGER NULL,
	request_msg TEXT NULL,
	request_time TIMESTAMPTZ NULL
);
ALTER TABLE t_error_logs ADD COLUMN IF NOT EXISTS request_id VARCHAR(32) NULL;
ALTER TABLE t_error_logs ADD COLUMN IF NOT EXISTS key_id VARCHAR(16) NULL;
ALTER TABLE t_error_logs ADD COLUMN IF NOT EXISTS token_id VARCHAR(16) NULL;
ALTER TABLE t_error_logs ADD COLUMN IF NOT EXISTS route VARCHAR(20) NULL;
ALTER TABLE t_error_logs ADD COLUMN IF NOT EXISTS error_class VARCHAR(20) NULL;
ALTER TABLE t_error_logs ADD COLUMN IF NOT EXISTS attempt INTEGER NULL;
UPDATE t_error_logs SET
		error_log = replace(error_log, gemini_key, left(gemini_key, 4) || '…' || right(gemini_key, 4)),
		gemini_key = left(gemini_key, 4) || '…' || right(gemini_key, 4)
	WHERE key_id IS NULL AND char_length(gemini_key) >= 12 AND gemini_key NOT LIKE '%…%';
UPDATE t_error_logs SET gemini_key = '••••••••'
	WHERE key_id IS NULL AND char_length(gemini_key) BETWEEN 1 AND 11 AND gemini_key NOT LIKE '%…%';
CREATE INDEX IF NOT EXISTS ix_t_error_logs_time ON t_error_logs (request_time);
CREATE INDEX IF NOT EXISTS ix_t_error_logs_key ON t_error_logs (key_id, request_time);
CREATE INDEX IF NOT EXISTS ix_t_error_logs_masked ON t_error_logs (gemini_key, request_time);
CREATE INDEX IF NOT EXISTS ix_t_error_logs_code ON t_error_logs (error_code, request_time);
CREATE INDEX IF NOT EXISTS ix_t_error_logs_request ON t_error_logs (request_id);
