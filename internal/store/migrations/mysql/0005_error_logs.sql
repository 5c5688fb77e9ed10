-- Gemini Balance's t_error_logs, column for column. One row per failed upstream attempt or refused
-- request; gemini_key holds the masked key and key_id the key's id.
CREATE TABLE IF NOT EXISTS t_error_logs (
	id BIGINT NOT NULL AUTO_INCREMENT,
	gemini_key VARCHAR(100) NULL,
	model_name VARCHAR(100) NULL,
	error_type VARCHAR(50) NULL,
	error_log TEXT NULL,
	error_code INT NULL,
	request_msg JSON NULL,
	request_time DATETIME(6) NULL,
	PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
ALTER TABLE t_error_logs ADD COLUMN request_id VARCHAR(32) NULL;
ALTER TABLE t_error_logs ADD COLUMN key_id VARCHAR(16) NULL;
ALTER TABLE t_error_logs ADD COLUMN token_id VARCHAR(16) NULL;
ALTER TABLE t_error_logs ADD COLUMN route VARCHAR(20) NULL;
ALTER TABLE t_error_logs ADD COLUMN error_class VARCHAR(20) NULL;
ALTER TABLE t_error_logs ADD COLUMN attempt INT NULL;
-- Rows Gemini Balance left behind held full keys, also inside upstream messages that quote them.
-- MySQL assigns left to right, so error_log is rewritten while gemini_key still holds the key.
UPDATE t_error_logs SET
		error_log = REPLACE(error_log, gemini_key, CONCAT(LEFT(gemini_key, 4), '…', RIGHT(gemini_key, 4))),
		gemini_key = CONCAT(LEFT(gemini_key, 4), '…', RIGHT(gemini_key, 4))
	WHERE key_id IS NULL AND CHAR_LENGTH(gemini_key) >= 12 AND gemini_key NOT LIKE '%…%';
UPDATE t_error_logs SET gemini_key = '••••••••'
	WHERE key_id IS NULL AND CHAR_LENGTH(gemini_key) BETWEEN 1 AND 11 AND gemini_key NOT LIKE '%…%';
CREATE INDEX ix_t_error_logs_time ON t_error_logs (request_time);
CREATE INDEX ix_t_error_logs_key ON t_error_logs (key_id, request_time);
CREATE INDEX ix_t_error_logs_masked ON t_error_logs (gemini_key, request_time);
CREATE INDEX ix_t_error_logs_code ON t_error_logs (error_code, request_time);
CREATE INDEX ix_t_error_logs_request ON t_error_logs (request_id);
