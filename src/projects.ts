/** The project registry in D1, with a per-isolate cache of known projects for the ingest path. */

export interface Project {
  project_id: string;
  name: string;
  created_at: string;
}

// Projects are never deleted, so a positive answer can be cached for the isolate's lifetime;
// a negative one only briefly (a project created elsewhere becomes visible within this time).
const UNKNOWN_PROJECT_TTL_MS = 5_000;
const known = new Set<string>();
const unknown = new Map<string, number>();

export async function findProject(db: D1Database, projectId: string): Promise<Project | null> {
  return db.prepare("SELECT project_id, name, created_at FROM projects WHERE project_id = ?").bind(projectId).first<Project>();
}

/** Which of these project ids exist (cached). */
export async function existingProjects(db: D1Database, projectIds: string[], nowMs = Date.now()): Promise<Set<string>> {
  const result = new Set<string>();
  const toCheck: string[] = [];
  for (const id of projectIds) {
    if (known.has(id)) result.add(id);
    else if ((unknown.get(id) ?? 0) > nowMs) continue;
    else toCheck.push(id);
  }
  for (let i = 0; i < toCheck.length; i += 90) {
    const part = toCheck.slice(i, i + 90);
    const rows = await db
      .prepare(`SELECT project_id FROM projects WHERE project_id IN (${part.map(() => "?").join(",")})`)
      .bind(...part)
      .all<{ project_id: string }>();
    const found = new Set(rows.results.map((r) => r.project_id));
    for (const id of part) {
      if (found.has(id)) {
        known.add(id);
        result.add(id);
      } else unknown.set(id, nowMs + UNKNOWN_PROJECT_TTL_MS);
    }
  }
  if (unknown.size > 10_000) unknown.clear();
  return result;
}

export function rememberProject(projectId: string): void {
  known.add(projectId);
  unknown.delete(projectId);
}
