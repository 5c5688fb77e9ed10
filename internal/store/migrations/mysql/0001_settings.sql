-- Gemini Balance's t_settings, column for column, so that its database is adopted in place. A table
-- created here uses utf8mb4_bin so names compare exactly, as on SQLite and PostgreSQL.
CREATE TABLE IF NOT EXISTS t_settings (
	id INTEGER NOT NULL AUTO_INCREMENT,
	`key` VARCHAR(100) NOT NULL,
	value LONGTEXT NULL,
	description VARCHAR(255) NULL,
	created_at DATETIME NULL,
	updated_at DATETIME NULL,
	PRIMARY KEY (id),
	UNIQUE (`key`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Gemini Balance made value a TEXT (64 KiB); the key list of a large pool is several MB. Widening
-- keeps every row, and is a no-op for a table created above.
ALTER TABLE t_settings MODIFY COLUMN value LONGTEXT NULL;
