/** Admin routes: the project registry and API keys. */
import { Hono } from "hono";
import { requireAdmin } from "../auth";
import { readJsonBody, readOptionalJsonBody } from "../body";
import type { AppEnv } from "../context";
import { ApiError } from "../errors";
import { forgetKeyHash, generateKey } from "../keys";
import { findProject, rememberProject, type Project } from "../projects";
import { IngestKeyCreate, KeyCreate, ProjectCreate } from "../validation/export-config";
import { zodToApiError } from "../validation/zod-error";
import { deleteKeySessions } from "../session";
import { MAX_CONFIG_BODY_BYTES, projectIdParam } from "./shared";

export const projectRoutes = new Hono<AppEnv>();

function randomProjectId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return "p-" + Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

projectRoutes.post("/v1/projects", async (c) => {
  requireAdmin(c);
  const parsed = ProjectCreate.safeParse(await readOptionalJsonBody(c, MAX_CONFIG_BODY_BYTES));
  if (!parsed.success) throw zodToApiError(parsed.error);
  const project: Project = {
    project_id: parsed.data.project_id ?? randomProjectId(),
    name: parsed.data.name ?? "",
    created_at: new Date().toISOString(),
  };
  const inserted = await c.env.DB.prepare(
    "INSERT INTO projects (project_id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (project_id) DO NOTHING",
  )
    .bind(project.project_id, project.name, project.created_at)
    .run();
  if (inserted.meta.changes === 0) {
    throw new ApiError(409, "project_exists", `Project "${project.project_id}" already exists.`);
  }
  rememberProject(project.project_id);
  return c.json(project, 201);
});

projectRoutes.get("/v1/projects", async (c) => {
  requireAdmin(c);
  const rows = await c.env.DB.prepare("SELECT project_id, name, created_at FROM projects ORDER BY created_at, project_id").all<Project>();
  return c.json({ projects: rows.results });
});

/** Storage figures of a project's object (operators, benchmarks). */
projectRoutes.get("/v1/projects/:project_id/stats", async (c) => {
  requireAdmin(c);
  const projectId = projectIdParam(c);
  if ((await findProject(c.env.DB, projectId)) === null) {
    throw new ApiError(404, "project_not_found", `Project "${projectId}" does not exist.`);
  }
  return c.json(await c.env.PROJECTS.getByName(projectId).storageStats(projectId));
});

projectRoutes.post("/v1/projects/:project_id/keys", async (c) => {
  requireAdmin(c);
  const projectId = projectIdParam(c);
  const parsed = KeyCreate.safeParse(await readOptionalJsonBody(c, MAX_CONFIG_BODY_BYTES));
  if (!parsed.success) throw zodToApiError(parsed.error);
  if ((await findProject(c.env.DB, projectId)) === null) {
    throw new ApiError(404, "project_not_found", `Project "${projectId}" does not exist.`);
  }
  const { keyId, key, keyHash } = await generateKey("project");
  await c.env.DB.prepare(
    "INSERT INTO api_keys (key_id, key_hash, scope, project_id, name, created_at) VALUES (?, ?, 'project', ?, ?, ?)",
  )
    .bind(keyId, keyHash, projectId, parsed.data.name ?? "", new Date().toISOString())
    .run();
  try {
    await c.env.PROJECTS.getByName(projectId).recordAudit(projectId, {
      actor: { kind: "admin" },
      action: "key.created",
      target: { kind: "key", id: keyId, name: parsed.data.name ?? "" },
      changes: [],
      outcome: "created",
    });
  } catch (error) {
    // No key without its audit entry: the key (never shown) is taken back, and the caller sees a 500.
    await c.env.DB.prepare("DELETE FROM api_keys WHERE key_id = ?").bind(keyId).run();
    throw error;
  }
  return c.json({ key_id: keyId, key, scope: "project", project_id: projectId }, 201);
});

projectRoutes.post("/v1/ingest-keys", async (c) => {
  requireAdmin(c);
  const parsed = IngestKeyCreate.safeParse(await readJsonBody(c, { maxBytes: MAX_CONFIG_BODY_BYTES }));
  if (!parsed.success) throw zodToApiError(parsed.error);
  const { keyId, key, keyHash } = await generateKey("ingest");
  await c.env.DB.prepare(
    "INSERT INTO api_keys (key_id, key_hash, scope, host_id, name, created_at) VALUES (?, ?, 'ingest', ?, ?, ?)",
  )
    .bind(keyId, keyHash, parsed.data.host_id, parsed.data.name ?? "", new Date().toISOString())
    .run();
  return c.json({ key_id: keyId, key, scope: "ingest", host_id: parsed.data.host_id }, 201);
});

projectRoutes.delete("/v1/keys/:key_id", async (c) => {
  requireAdmin(c);
  const keyId = c.req.param("key_id");
  if (!/^key_[0-9a-f]{16}$/.test(keyId)) throw new ApiError(404, "key_not_found", "No such key.");
  const row = await c.env.DB.prepare("SELECT key_hash, project_id, name, revoked_at FROM api_keys WHERE key_id = ?")
    .bind(keyId)
    .first<{ key_hash: string; project_id: string | null; name: string; revoked_at: string | null }>();
  if (row === null) throw new ApiError(404, "key_not_found", "No such key.");
  await c.env.DB.prepare("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE key_id = ?")
    .bind(new Date().toISOString(), keyId)
    .run();
  forgetKeyHash(row.key_hash);
  await deleteKeySessions(c.env.DB, keyId);
  if (row.project_id !== null) {
    // Also when it was revoked already: a DELETE retried after the entry could not be written still
    // leaves exactly one entry (the object skips it when the log holds one for this key).
    await c.env.PROJECTS.getByName(row.project_id).recordAudit(
      row.project_id,
      { actor: { kind: "admin" }, action: "key.revoked", target: { kind: "key", id: keyId, name: row.name }, changes: [], outcome: "revoked" },
      { unlessRecorded: true },
    );
  }
  return c.body(null, 204);
});
