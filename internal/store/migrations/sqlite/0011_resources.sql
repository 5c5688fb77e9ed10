-- Who owns each Gemini resource a client creates through gemgate and later names (context caches,
-- batches, long-running operations): the Gemini key whose project holds it at Google, and the client
-- token that created it, both as non-reversible ids (secret.ID). Files keep theirs in t_file_records.
-- A generate call naming another token's resource is refused before it reaches Google, and one naming
-- an owned resource goes to its key. expires_at is Unix seconds.
CREATE TABLE IF NOT EXISTS gg_resources (
	name VARCHAR(255) NOT NULL,
	kind VARCHAR(32) NOT NULL,
	key_id VARCHAR(16) NOT NULL,
	owner_id VARCHAR(16) NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	PRIMARY KEY (name)
);
CREATE INDEX IF NOT EXISTS ix_gg_resources_expires ON gg_resources (expires_at);
CREATE INDEX IF NOT EXISTS ix_gg_resources_owner ON gg_resources (owner_id, kind);
