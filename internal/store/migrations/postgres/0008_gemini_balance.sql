-- Gemini Balance's t_file_records columns (it had no PostgreSQL support; this keeps the same columns),
-- for the Files API and for imports. api_key holds the key that uploaded the file: the file is only
-- reachable with that key, so it stays in full, like the keys in t_settings and t_api_keys.
CREATE TABLE IF NOT EXISTS t_file_records (
	id BIGSERIAL PRIMARY KEY,
	name VARCHAR(255) NOT NULL UNIQUE,
	display_name VARCHAR(255) NULL,
	mime_type VARCHAR(100) NOT NULL,
	size_bytes BIGINT NOT NULL,
	sha256_hash VARCHAR(255) NULL,
	state VARCHAR(10) NOT NULL,
	create_time TIMESTAMPTZ NOT NULL,
	update_time TIMESTAMPTZ NOT NULL,
	expiration_time TIMESTAMPTZ NOT NULL,
	uri VARCHAR(500) NOT NULL,
	api_key VARCHAR(100) NOT NULL,
	upload_url TEXT NULL,
	user_token VARCHAR(100) NULL,
	upload_completed TIMESTAMPTZ NULL
);
-- What gemgate took over from Gemini Balance databases: per source, the number of settings found and
-- the last row id copied from each table, so that an import run again copies only newer rows.
CREATE TABLE IF NOT EXISTS gg_imports (
	source VARCHAR(191) NOT NULL,
	item VARCHAR(32) NOT NULL,
	value BIGINT NOT NULL,
	PRIMARY KEY (source, item)
);
-- Migrations run before settings are first stored, so settings already here predate gemgate.
INSERT INTO gg_imports (source, item, value)
	SELECT 'adopted', 'settings', COUNT(*) FROM t_settings HAVING COUNT(*) > 0
	ON CONFLICT DO NOTHING;
