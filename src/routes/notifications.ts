/**
 * Notification webhooks (at most 3 per project) and the project's audit log:
 * `GET/POST …/notifications`, `GET/PATCH/DELETE …/notifications/{id}`, `POST …/{id}/test`,
 * `GET …/audit?limit=&before=`. Project key of that project (or the page's session), or admin.
 */
import { Hono, type Context } from "hono";
import { actorOf, requireProjectAccess } from "../auth";
import { readJsonBody, readOptionalJsonBody } from "../body";
import type { AppEnv } from "../context";
import { ApiError, invalid, unwrap } from "../errors";
import { findProject } from "../projects";
import { EmptyBody } from "../validation/export-config";
import { NotificationCreate, notificationNotFound, NotificationPatch, webhookUrlProblem } from "../validation/notifications";
import { zodToApiError } from "../validation/zod-error";
import { MAX_CONFIG_BODY_BYTES, PROJECT_ID } from "./shared";

export const notificationRoutes = new Hono<AppEnv>();

const NOTIFICATION_ID = /^n-[a-z2-7]{10}$/;
const MAX_AUDIT_PAGE = 100;

async function projectObject(c: Context<AppEnv>) {
  const projectId = c.req.param("project_id") ?? "";
  const actor = actorOf(requireProjectAccess(c, projectId));
  if (!PROJECT_ID.test(projectId) || (await findProject(c.env.DB, projectId)) === null) {
    throw new ApiError(404, "project_not_found", `Project "${projectId}" does not exist.`);
  }
  const id = c.req.param("notification_id");
  if (id !== undefined && !NOTIFICATION_ID.test(id)) unwrap(notificationNotFound(id));
  return { projectId, id: id ?? "", actor, origin: new URL(c.req.url).origin, stub: c.env.PROJECTS.getByName(projectId) };
}

function checkWebhookUrl(c: Context<AppEnv>, url: string): void {
  const problem = webhookUrlProblem(url, c.get("settings").allowPrivateEndpoints);
  if (problem !== null) throw invalid(`url: ${problem}.`);
}

const base = "/v1/projects/:project_id/notifications";

notificationRoutes.get(base, async (c) => {
  const { projectId, stub } = await projectObject(c);
  return c.json(await stub.listNotifications(projectId));
});

notificationRoutes.post(base, async (c) => {
  const { projectId, actor, origin, stub } = await projectObject(c);
  const parsed = NotificationCreate.safeParse(await readJsonBody(c, { maxBytes: MAX_CONFIG_BODY_BYTES }));
  if (!parsed.success) throw zodToApiError(parsed.error);
  checkWebhookUrl(c, parsed.data.url);
  return c.json(unwrap(await stub.createNotification(projectId, parsed.data, actor, origin)), 201);
});

notificationRoutes.get(`${base}/:notification_id`, async (c) => {
  const { projectId, id, stub } = await projectObject(c);
  return c.json(unwrap(await stub.getNotification(projectId, id)));
});

notificationRoutes.patch(`${base}/:notification_id`, async (c) => {
  const { projectId, id, actor, origin, stub } = await projectObject(c);
  const parsed = NotificationPatch.safeParse(await readJsonBody(c, { maxBytes: MAX_CONFIG_BODY_BYTES }));
  if (!parsed.success) throw zodToApiError(parsed.error);
  if (parsed.data.url !== undefined) checkWebhookUrl(c, parsed.data.url);
  return c.json(unwrap(await stub.patchNotification(projectId, id, parsed.data, actor, origin)));
});

notificationRoutes.delete(`${base}/:notification_id`, async (c) => {
  const { projectId, id, actor, stub } = await projectObject(c);
  unwrap(await stub.deleteNotification(projectId, id, actor));
  return c.body(null, 204);
});

notificationRoutes.post(`${base}/:notification_id/test`, async (c) => {
  const { projectId, id, origin, stub } = await projectObject(c);
  const parsed = EmptyBody.safeParse(await readOptionalJsonBody(c, MAX_CONFIG_BODY_BYTES));
  if (!parsed.success) throw zodToApiError(parsed.error);
  return c.json(unwrap(await stub.testNotification(projectId, id, origin)));
});

notificationRoutes.get("/v1/projects/:project_id/audit", async (c) => {
  const { projectId, stub } = await projectObject(c);
  const limit = c.req.query("limit");
  const before = c.req.query("before");
  if (limit !== undefined && !(/^[1-9][0-9]{0,2}$/.test(limit) && Number(limit) <= MAX_AUDIT_PAGE)) {
    throw invalid(`limit: must be a whole number from 1 to ${MAX_AUDIT_PAGE}.`);
  }
  if (before !== undefined && !/^[1-9][0-9]{0,15}$/.test(before)) throw invalid("before: must be an entry id (the next_before of the previous page).");
  return c.json(await stub.auditLog(projectId, limit === undefined ? 50 : Number(limit), before === undefined ? null : Number(before)));
});
