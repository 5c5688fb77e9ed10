-- Gemini Balance's t_request_log as its SQLAlchemy model creates it, so that its file is adopted in
-- place. gemgate writes one row per client request (Gemini Balance wrote one per upstream attempt); the
-- attempts behind a request are in the attempts column. api_key holds the masked key, never the key.
CREATE TABLE IF NOT EXISTS t_request_log (
	id INTEGER NOT NULL,
	request_time DATETIME,
	model_name VARCHAR(100),
	api_key VARCHAR(100),
	is_success BOOLEAN NOT NULL,
	status_code INTEGER,
	latency_ms INTEGER,
	PRIMARY KEY (id)
);
ALTER TABLE t_request_log ADD COLUMN request_id VARCHAR(32);
ALTER TABLE t_request_log ADD COLUMN key_id VARCHAR(16);
ALTER TABLE t_request_log ADD COLUMN token_id VARCHAR(16);
ALTER TABLE t_request_log ADD COLUMN route VARCHAR(20);
ALTER TABLE t_request_log ADD COLUMN method VARCHAR(10);
ALTER TABLE t_request_log ADD COLUMN path VARCHAR(255);
ALTER TABLE t_request_log ADD COLUMN stream BOOLEAN;
ALTER TABLE t_request_log ADD COLUMN attempt_count INTEGER;
ALTER TABLE t_request_log ADD COLUMN attempts TEXT;
ALTER TABLE t_request_log ADD COLUMN error TEXT;
ALTER TABLE t_request_log ADD COLUMN prompt_tokens INTEGER;
ALTER TABLE t_request_log ADD COLUMN output_tokens INTEGER;
ALTER TABLE t_request_log ADD COLUMN thought_tokens INTEGER;
ALTER TABLE t_request_log ADD COLUMN cached_tokens INTEGER;
-- Gemini Balance stored full keys; rows it left behind get the mask gemgate shows everywhere else.
UPDATE t_request_log SET api_key = CASE WHEN length(api_key) >= 12
		THEN substr(api_key, 1, 4) || '…' || substr(api_key, -4) ELSE '••••••••' END
	WHERE key_id IS NULL AND length(api_key) > 0 AND api_key NOT LIKE '%…%';
CREATE INDEX IF NOT EXISTS ix_t_request_log_time ON t_request_log (request_time);
CREATE INDEX IF NOT EXISTS ix_t_request_log_key ON t_request_log (key_id, request_time);
CREATE INDEX IF NOT EXISTS ix_t_request_log_token ON t_request_log (token_id, request_time);
CREATE INDEX IF NOT EXISTS ix_t_request_log_model ON t_request_log (model_name, request_time);
CREATE INDEX IF NOT EXISTS ix_t_request_log_status ON t_request_log (status_code, request_time);
CREATE INDEX IF NOT EXISTS ix_t_request_log_request ON t_request_log (request_id);
