-- Gemini Balance's t_request_log, column for column, so that its database is adopted in place (a table
-- created here has a BIGINT id: one row per request adds up). gemgate writes one row per client request
-- (Gemini Balance wrote one per upstream attempt); the attempts are in the attempts column. api_key
-- holds the masked key, never the key. MySQL has no ADD COLUMN IF NOT EXISTS: the migration runner
-- tolerates "duplicate column" and "duplicate key name", so this file can run again after a crash.
CREATE TABLE IF NOT EXISTS t_request_log (
	id BIGINT NOT NULL AUTO_INCREMENT,
	request_time DATETIME(6) NULL,
	model_name VARCHAR(100) NULL,
	api_key VARCHAR(100) NULL,
	is_success BOOLEAN NOT NULL,
	status_code INT NULL,
	latency_ms INT NULL,
	PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
ALTER TABLE t_request_log ADD COLUMN request_id VARCHAR(32) NULL;
ALTER TABLE t_request_log ADD COLUMN key_id VARCHAR(16) NULL;
ALTER TABLE t_request_log ADD COLUMN token_id VARCHAR(16) NULL;
ALTER TABLE t_request_log ADD COLUMN route VARCHAR(20) NULL;
ALTER TABLE t_request_log ADD COLUMN method VARCHAR(10) NULL;
ALTER TABLE t_request_log ADD COLUMN path VARCHAR(255) NULL;
ALTER TABLE t_request_log ADD COLUMN stream BOOLEAN NULL;
ALTER TABLE t_request_log ADD COLUMN attempt_count INT NULL;
ALTER TABLE t_request_log ADD COLUMN attempts MEDIUMTEXT NULL;
ALTER TABLE t_request_log ADD COLUMN error TEXT NULL;
ALTER TABLE t_request_log ADD COLUMN prompt_tokens INT NULL;
ALTER TABLE t_request_log ADD COLUMN output_tokens INT NULL;
ALTER TABLE t_request_log ADD COLUMN thought_tokens INT NULL;
ALTER TABLE t_request_log ADD COLUMN cached_tokens INT NULL;
-- Gemini Balance stored full keys; rows it left behind get the mask gemgate shows everywhere else.
UPDATE t_request_log SET api_key = CASE WHEN CHAR_LENGTH(api_key) >= 12
		THEN CONCAT(LEFT(api_key, 4), '…', RIGHT(api_key, 4)) ELSE '••••••••' END
	WHERE key_id IS NULL AND CHAR_LENGTH(api_key) > 0 AND api_key NOT LIKE '%…%';
CREATE INDEX ix_t_request_log_time ON t_request_log (request_time);
CREATE INDEX ix_t_request_log_key ON t_request_log (key_id, request_time);
CREATE INDEX ix_t_request_log_token ON t_request_log (token_id, request_time);
CREATE INDEX ix_t_request_log_model ON t_request_log (model_name, request_time);
CREATE INDEX ix_t_request_log_status ON t_request_log (status_code, request_time);
CREATE INDEX ix_t_request_log_request ON t_request_log (request_id);
