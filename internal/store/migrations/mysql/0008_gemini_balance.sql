-- Gemini Balance's t_file_records, column for column, so that its rows are kept and a later Files API
-- finds them. api_key holds the key that uploaded the file: the file is only reachable with that key,
-- so it stays in full, like the keys in t_settings and t_api_keys.
CREATE TABLE IF NOT EXISTS t_file_records (
	id INT NOT NULL AUTO_INCREMENT,
	name VARCHAR(255) NOT NULL,
	display_name VARCHAR(255) NULL,
	mime_type VARCHAR(100) NOT NULL,
	size_bytes BIGINT NOT NULL,
	sha256_hash VARCHAR(255) NULL,
	state ENUM('PROCESSING','ACTIVE','FAILED') NOT NULL,
	create_time DATETIME NOT NULL,
	update_time DATETIME NOT NULL,
	expiration_time DATETIME NOT NULL,
	uri VARCHAR(500) NOT NULL,
	api_key VARCHAR(100) NOT NULL,
	upload_url TEXT NULL,
	user_token VARCHAR(100) NULL,
	upload_completed DATETIME NULL,
	PRIMARY KEY (id),
	UNIQUE (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- What gemgate took over from Gemini Balance databases: per source, the number of settings found and
-- the last row id copied from each table, so that an import run again copies only newer rows.
CREATE TABLE IF NOT EXISTS gg_imports (
	source VARCHAR(191) NOT NULL,
	item VARCHAR(32) NOT NULL,
	value BIGINT NOT NULL,
	PRIMARY KEY (source, item)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- Migrations run before settings are first stored, so settings already here were written by Gemini
-- Balance: this database is being adopted. The start-up step reports it once and marks it reported.
-- IGNORE: this file runs again after a crash, MySQL DDL having no transaction.
INSERT IGNORE INTO gg_imports (source, item, value)
	SELECT 'adopted', 'settings', COUNT(*) FROM t_settings HAVING COUNT(*) > 0;
