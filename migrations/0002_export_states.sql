-- Fleet-wide overview of each project's export state (GET /v1/admin/exports), one row per export.
-- The project's Durable Object stays the source of truth; this is a copy for listing across projects.
-- Times are Unix milliseconds.
CREATE TABLE export_states (
  project_id                TEXT    NOT NULL,
  export_id                 TEXT    NOT NULL,
  name                      TEXT    NOT NULL DEFAULT '',
  state                     TEXT    NOT NULL
    CHECK (state IN ('unconfigured', 'disabled', 'pending', 'connected', 'failing', 'paused')),
  consecutive_failures      INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
  last_success_at           INTEGER,
  last_attempt_at           INTEGER,
  last_error_classification TEXT,
  last_error_at             INTEGER,
  updated_at                INTEGER NOT NULL,
  PRIMARY KEY (project_id, export_id)
);
-- "Every failing export", paged in primary-key order.
CREATE INDEX export_states_state ON export_states (state, project_id, export_id);
