-- The DDL Gemini Balance's SQLAlchemy model produces, so that its data/<SQLITE_DATABASE> file is
-- adopted as it is. Its defaults lived in Python, so the columns have none: the store always writes
-- created_at and updated_at itself.
CREATE TABLE IF NOT EXISTS t_settings (
	id INTEGER NOT NULL,
	"key" VARCHAR(100) NOT NULL,
	value TEXT,
	description VARCHAR(255),
	created_at DATETIME,
	updated_at DATETIME,
	PRIMARY KEY (id),
	UNIQUE ("key")
);
