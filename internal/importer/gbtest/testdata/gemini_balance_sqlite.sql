-- A Gemini Balance 2.2.x SQLite database (data/default_db) as its SQLAlchemy models create it
-- (reference §5.2), with rows as Gemini Balance writes them: settings from its first-start .env import
-- and startup sync, full keys in the logs, naive local times.
CREATE TABLE t_settings (
	id INTEGER NOT NULL,
	"key" VARCHAR(100) NOT NULL,
	value TEXT,
	description VARCHAR(255),
	created_at DATETIME,
	updated_at DATETIME,
	PRIMARY KEY (id),
	UNIQUE ("key")
);
CREATE TABLE t_error_logs (
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
CREATE TABLE t_request_log (
	id INTEGER NOT NULL,
	request_time DATETIME,
	model_name VARCHAR(100),
	api_key VARCHAR(100),
	is_success BOOLEAN NOT NULL,
	status_code INTEGER,
	latency_ms INTEGER,
	PRIMARY KEY (id)
);
CREATE TABLE t_file_records (
	id INTEGER NOT NULL,
	name VARCHAR(255) NOT NULL,
	display_name VARCHAR(255),
	mime_type VARCHAR(100) NOT NULL,
	size_bytes BIGINT NOT NULL,
	sha256_hash VARCHAR(255),
	state VARCHAR(10) NOT NULL,
	create_time DATETIME NOT NULL,
	update_time DATETIME NOT NULL,
	expiration_time DATETIME NOT NULL,
	uri VARCHAR(500) NOT NULL,
	api_key VARCHAR(100) NOT NULL,
	upload_url TEXT,
	user_token VARCHAR(100),
	upload_completed DATETIME,
	PRIMARY KEY (id),
	UNIQUE (name)
);
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('DATABASE_TYPE', 'sqlite', 'DATABASE_TYPE配置项', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('SQLITE_DATABASE', 'default_db', 'SQLITE_DATABASE配置项', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('API_KEYS', '["AIzaSy7VIrxaR7kQfWv52uvEgoqiXnLAC1lIAYJ", "AIzaSyRfza0hW_rdE2oapzzQbkrck-z1iYylswf", "AIzaSygItIepZEufUlSoU5AZzcWQa3oBC4IPlNK"]', 'API_KEYS configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('ALLOWED_TOKENS', '["sk-gb-client-token-0001", "sk-gb-client-token-0002"]', 'ALLOWED_TOKENS configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('AUTH_TOKEN', 'sk-gb-admin-token-000000001', 'AUTH_TOKEN configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('BASE_URL', 'https://generativelanguage.googleapis.com/v1beta', 'BASE_URL configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('MAX_FAILURES', '10', 'MAX_FAILURES configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('MAX_RETRIES', '3', 'MAX_RETRIES configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('TIME_OUT', '600', 'TIME_OUT configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('TEST_MODEL', 'gemini-2.5-flash-lite', 'TEST_MODEL configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('PROXIES', '[]', 'PROXIES configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('PROXIES_USE_CONSISTENCY_HASH_BY_API_KEY', 'true', 'PROXIES_USE_CONSISTENCY_HASH_BY_API_KEY configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('VERTEX_API_KEYS', '[]', 'VERTEX_API_KEYS configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('SEARCH_MODELS', '["gemini-2.5-flash", "gemini-2.5-pro"]', 'SEARCH_MODELS configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('IMAGE_MODELS', '["gemini-2.0-flash-exp"]', 'IMAGE_MODELS configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('THINKING_MODELS', '["gemini-2.5-flash"]', 'THINKING_MODELS配置项', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('THINKING_BUDGET_MAP', '{"gemini-2.5-flash": 1024.0}', 'THINKING_BUDGET_MAP配置项', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('SAFETY_SETTINGS', '[{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "OFF"}, {"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF"}, {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "threshold": "OFF"}, {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "OFF"}, {"category": "HARM_CATEGORY_CIVIC_INTEGRITY", "threshold": "BLOCK_NONE"}]', 'SAFETY_SETTINGS configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('TOOLS_CODE_EXECUTION_ENABLED', 'false', 'TOOLS_CODE_EXECUTION_ENABLED configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('SHOW_SEARCH_LINK', 'true', 'SHOW_SEARCH_LINK configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('FAKE_STREAM_ENABLED', 'true', 'FAKE_STREAM_ENABLED configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('STREAM_MIN_DELAY', '0.016', 'STREAM_MIN_DELAY configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('UPLOAD_PROVIDER', 'smms', 'UPLOAD_PROVIDER configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('TTS_SPEED', 'very fast', 'TTS_SPEED配置项', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('CHECK_INTERVAL_HOURS', '1', 'CHECK_INTERVAL_HOURS configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('TIMEZONE', 'Asia/Shanghai', 'TIMEZONE configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('LOG_LEVEL', 'INFO', 'LOG_LEVEL configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('AUTO_DELETE_ERROR_LOGS_ENABLED', 'true', 'AUTO_DELETE_ERROR_LOGS_ENABLED configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('AUTO_DELETE_ERROR_LOGS_DAYS', '7', 'AUTO_DELETE_ERROR_LOGS_DAYS configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('GITHUB_REPO_OWNER', 'snailyp', 'GITHUB_REPO_OWNER configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('GITHUB_REPO_NAME', 'gemini-balance', 'GITHUB_REPO_NAME configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('ADMIN_SESSION_EXPIRE', '3600', 'ADMIN_SESSION_EXPIRE configuration setting', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_settings ("key", value, description, created_at, updated_at) VALUES ('TZ', 'Asia/Shanghai', 'TZ配置项', '2025-06-01 10:00:00.000000', '2025-06-01 10:00:00.000000');
INSERT INTO t_error_logs (gemini_key, model_name, error_type, error_log, error_code, request_msg, request_time) VALUES ('AIzaSy7VIrxaR7kQfWv52uvEgoqiXnLAC1lIAYJ', 'gemini-2.5-pro', 'gemini-chat-non-stream', 'Error code: 429 - {"error": {"code": 429, "message": "You exceeded your current quota, please check your plan and billing details.", "status": "RESOURCE_EXHAUSTED"}}', 429, NULL, '2025-06-02 09:15:00.123456');
INSERT INTO t_error_logs (gemini_key, model_name, error_type, error_log, error_code, request_msg, request_time) VALUES ('AIzaSygItIepZEufUlSoU5AZzcWQa3oBC4IPlNK', 'gemini-2.5-flash', 'gemini-chat-stream', 'Error code: 403 - {"error": {"code": 403, "message": "Permission denied: Consumer ''api_key:AIzaSygItIepZEufUlSoU5AZzcWQa3oBC4IPlNK'' has been suspended.", "status": "PERMISSION_DENIED"}}', 403, '{"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}', '2025-06-02 10:01:02.000000');
INSERT INTO t_error_logs (gemini_key, model_name, error_type, error_log, error_code, request_msg, request_time) VALUES ('AIzaSynhdW2-SFi2DmZVVrLvHdgwHvpsbgh5AXL', 'gemini-2.5-flash-search', 'gemini-chat-non-stream', 'Error code: 400 - {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT"}}', 400, NULL, '2025-06-03 18:30:00.500000');
INSERT INTO t_request_log (request_time, model_name, api_key, is_success, status_code, latency_ms) VALUES ('2025-06-02 09:14:58.000000', 'gemini-2.5-flash', 'AIzaSy7VIrxaR7kQfWv52uvEgoqiXnLAC1lIAYJ', 1, 200, 812);
INSERT INTO t_request_log (request_time, model_name, api_key, is_success, status_code, latency_ms) VALUES ('2025-06-02 09:15:00.123456', 'gemini-2.5-pro', 'AIzaSy7VIrxaR7kQfWv52uvEgoqiXnLAC1lIAYJ', 0, 429, 230);
INSERT INTO t_request_log (request_time, model_name, api_key, is_success, status_code, latency_ms) VALUES ('2025-06-02 09:15:01.000000', 'gemini-2.5-pro', 'AIzaSyRfza0hW_rdE2oapzzQbkrck-z1iYylswf', 1, 200, 5321);
INSERT INTO t_request_log (request_time, model_name, api_key, is_success, status_code, latency_ms) VALUES ('2025-06-02 10:01:02.000000', 'gemini-2.5-flash', 'AIzaSygItIepZEufUlSoU5AZzcWQa3oBC4IPlNK', 0, 403, 120);
INSERT INTO t_request_log (request_time, model_name, api_key, is_success, status_code, latency_ms) VALUES ('2025-06-03 18:30:00.500000', 'gemini-2.5-flash-search', 'AIzaSynhdW2-SFi2DmZVVrLvHdgwHvpsbgh5AXL', 0, 400, 95);
INSERT INTO t_file_records (name, display_name, mime_type, size_bytes, sha256_hash, state, create_time, update_time, expiration_time, uri, api_key, upload_url, user_token, upload_completed) VALUES ('files/abc123def456', 'report.pdf', 'application/pdf', 482133, 'ZjE4YzA5ZWY=', 'ACTIVE', '2025-06-02 09:00:00.000000', '2025-06-02 09:00:05.000000', '2025-06-04 09:00:00.000000', 'https://generativelanguage.googleapis.com/v1beta/files/abc123def456', 'AIzaSyRfza0hW_rdE2oapzzQbkrck-z1iYylswf', NULL, 'sk-gb-client-token-0001', '2025-06-02 09:00:05.000000');
INSERT INTO t_file_records (name, display_name, mime_type, size_bytes, sha256_hash, state, create_time, update_time, expiration_time, uri, api_key, upload_url, user_token, upload_completed) VALUES ('files/zzz999', 'notes.txt', 'text/plain', 1024, NULL, 'PROCESSING', '2025-06-03 11:00:00.000000', '2025-06-03 11:00:00.000000', '2025-06-05 11:00:00.000000', 'https://generativelanguage.googleapis.com/v1beta/files/zzz999', 'AIzaSy7VIrxaR7kQfWv52uvEgoqiXnLAC1lIAYJ', NULL, NULL, NULL);
