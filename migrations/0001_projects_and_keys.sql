-- Project registry: one row per customer project. The project's own state lives in its Durable Object.
CREATE TABLE projects (
  project_id TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  created_at TEXT NOT NULL
);

-- API keys. Only the SHA-256 of a key is stored; the key itself is shown once at creation.
-- scope 'project': reaches one project's export API. scope 'ingest': a GPU host posting samples as host_id.
CREATE TABLE api_keys (
  key_id     TEXT PRIMARY KEY,
  key_hash   TEXT NOT NULL UNIQUE,
  scope      TEXT NOT NULL CHECK (scope IN ('project', 'ingest')),
  project_id TEXT REFERENCES projects (project_id),
  host_id    TEXT,
  name       TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  revoked_at TEXT,
  CHECK ((scope = 'project' AND project_id IS NOT NULL AND host_id IS NULL)
      OR (scope = 'ingest' AND host_id IS NOT NULL AND project_id IS NULL))
);
CREATE INDEX api_keys_project ON api_keys (project_id);
