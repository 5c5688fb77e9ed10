-- Gemini Balance's t_settings (it had no PostgreSQL support; this keeps the same columns). timestamptz
-- holds an instant, so no session time zone can shift it.
CREATE TABLE IF NOT EXISTS t_settings (
	id SERIAL PRIMARY KEY,
	"key" VARCHAR(100) NOT NULL UNIQUE,
	value TEXT NULL,
	description VARCHAR(255) NULL,
	created_at TIMESTAMPTZ NULL,
	updated_at TIMESTAMPTZ NULL
);
