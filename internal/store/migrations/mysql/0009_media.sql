-- The Files API remembers, per file, which Gemini key uploaded it (only that key can read the file at
-- Google) and which client token owns it. Both are stored as non-reversible ids (secret.ID): the key
-- itself is found again in the key pool, so the table never holds a key or a token in full. Rows that
-- Gemini Balance wrote keep their full api_key and user_token and are read as they are. The runner
-- tolerates "duplicate column" and "duplicate key name", so this file can run again after a crash.
ALTER TABLE t_file_records ADD COLUMN key_id VARCHAR(16) NULL;
ALTER TABLE t_file_records ADD COLUMN owner_id VARCHAR(16) NULL;
CREATE INDEX ix_t_file_records_expiration ON t_file_records (expiration_time);
CREATE INDEX ix_t_file_records_owner ON t_file_records (owner_id, id);
-- Resumable uploads in progress, so that an upload survives a restart or lands on another instance.
-- id_hash is the SHA-256 of Google's upload_id (which can be long); times are Unix seconds.
CREATE TABLE IF NOT EXISTS gg_upload_sessions (
	id_hash VARCHAR(64) NOT NULL,
	upload_url TEXT NOT NULL,
	key_id VARCHAR(16) NOT NULL,
	owner_id VARCHAR(16) NOT NULL,
	display_name VARCHAR(255) NULL,
	mime_type VARCHAR(100) NULL,
	size_bytes BIGINT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	PRIMARY KEY (id_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_gg_upload_sessions_expires ON gg_upload_sessions (expires_at);
-- Images served by the built-in image host (UPLOAD_PROVIDER=local). In the database rather than a
-- folder, so that every instance sharing the database serves every image. LONGBLOB because
-- LOCAL_IMAGE_MAX_MB goes past MEDIUMBLOB's 16 MiB (max_allowed_packet must allow the size too).
CREATE TABLE IF NOT EXISTS gg_images (
	id VARCHAR(64) NOT NULL,
	mime_type VARCHAR(100) NOT NULL,
	data LONGBLOB NOT NULL,
	size_bytes BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_gg_images_expires ON gg_images (expires_at);
