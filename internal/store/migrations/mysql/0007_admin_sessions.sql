-- Admin panel logins, shared by every instance on this database. id_hash is the SHA-256 of the cookie's
-- session id, so a leaked table cannot be replayed as cookies; auth_tag fingerprints the AUTH_TOKEN a
-- session was opened with, so changing the token ends every session. Times are Unix seconds: compared
-- as plain integers, they mean the same on every engine.
CREATE TABLE IF NOT EXISTS t_admin_sessions (
	id_hash VARCHAR(64) NOT NULL,
	csrf_token VARCHAR(64) NOT NULL,
	auth_tag VARCHAR(32) NOT NULL,
	user_agent VARCHAR(255) NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	PRIMARY KEY (id_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_t_admin_sessions_expires ON t_admin_sessions (expires_at);
