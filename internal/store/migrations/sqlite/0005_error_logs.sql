-- Gemini Balance's t_error_logs as its SQLAlchemy model creates it. One row per failed upstream attempt
-- or refused request; gemini_key holds the masked key and key_id the key's id.
CREATE TABLE IF NOT EXISTS t_error_logs (
	id INTEGER NOT NULL,
	gemini_key VARCHAR(100),
	model_name VARCHAR(100),
	error_type VARCHAR(50),
	error_log TEXT,
	error_code INTEGER,
	request_msg JSON,
	request_time DATETIME,
	PRIMARY KEY (id)
);
ALTER TABLE t_error_logs ADD COLUMN request_id VARCHAR(32);
ALTER TABLE t_error_logs ADD COLUMN key_id VARCHAR(16);
ALTER TABLE t_error_logs ADD COLUMN token_id VARCHAR(16);
ALTER TABLE t_error_logs ADD COLUMN route VARCHAR(20);
ALTER TABLE t_error_logs ADD COLUMN error_class VARCHAR(20);
ALTER TABLE t_error_logs ADD COLUMN attempt INTEGER;
-- Rows Gemini Balance left behind held full keys, also inside upstream messages that quote them.
UPDATE t_error_logs SET
		error_log = replace(error_log, gemini_key, substr(gemini_key, 1, 4) || '…' || substr(gemini_key, -4)),
		gemini_key = substr(gemini_key, 1, 4) || '…' || substr(gemini_key, -4)
	WHERE key_id IS NULL AND length(gemini_key) >= 12 AND gemini_key NOT LIKE '%…%';
UPDATE t_error_logs SET gemini_key = '••••••••'
	WHERE key_id IS NULL AND length(gemini_key) BETWEEN 1 AND 11 AND gemini_key NOT LIKE '%…%';
CREATE INDEX IF NOT EXISTS ix_t_error_logs_time ON t_error_logs (request_time);
CREATE INDEX IF NOT EXISTS ix_t_error_logs_key ON t_error_logs (key_id, request_time);
CREATE INDEX IF NOT EXISTS ix_t_error_logs_masked ON t_error_logs (gemini_key, request_time);
CREATE INDEX IF NOT EXISTS ix_t_error_logs_code ON t_error_logs (error_code, request_time);
CREATE INDEX IF NOT EXISTS ix_t_error_logs_request ON t_error_logs (request_id);
