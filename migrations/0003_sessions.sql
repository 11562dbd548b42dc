-- Browser sessions of the Metrics Export page (src/session.ts). Signing in with a project key creates
-- one; the cookie holds a random token and only its SHA-256 is stored here. A session ends at
-- expires_at (Unix ms), at Sign out (row deleted) or when its key is revoked (rows deleted, and the
-- lookup joins api_keys.revoked_at). Expired rows are deleted at the next sign-in.
CREATE TABLE sessions (
  session_hash TEXT    PRIMARY KEY,
  key_id       TEXT    NOT NULL REFERENCES api_keys (key_id),
  project_id   TEXT    NOT NULL REFERENCES projects (project_id),
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_key ON sessions (key_id);
