/**
 * A project's exports: the collection (`…/metrics-exports`, `…/metrics-exports/{export_id}`) and
 * the singular `…/metrics-export` routes of the product guide, which act on the project's first
 * export (a PUT there creates it). Project key of that project, or admin.
 */
import { Hono, type Context } from "hono";
import { MAX_PREVIEW_SERIES } from "../../durable-objects/project-exporter";
import { actorOf, requireProjectAccess } from "../auth";
import { readJsonBody, readOptionalJsonBody } from "../body";
import type { AppEnv } from "../context";
import { ApiError, invalid, unwrap } from "../errors";
import { findProject } from "../projects";
import { checkEndpoint } from "../validation/endpoint";
import { ConnectionTestInput, EmptyBody, ExportConfigPatch, ExportConfigPut } from "../validation/export-config";
import { zodToApiError } from "../validation/zod-error";
import { MAX_CONFIG_BODY_BYTES, PROJECT_ID } from "./shared";

export const metricsExportRoutes = new Hono<AppEnv>();

/** Rejects any input on routes that take none (an absent body or `{}` is fine). */
async function noInput(c: Context<AppEnv>): Promise<void> {
  const parsed = EmptyBody.safeParse(await readOptionalJsonBody(c, MAX_CONFIG_BODY_BYTES));
  if (!parsed.success) throw zodToApiError(parsed.error);
}

const EXPORT_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** Authorises the caller for the project and returns its object's stub, and the export the path names (null: the first). */
async function projectObject(c: Context<AppEnv>) {
  const projectId = c.req.param("project_id") ?? "";
  const exportParam = c.req.param("export_id");
  const actor = actorOf(requireProjectAccess(c, projectId));
  if (!PROJECT_ID.test(projectId) || (await findProject(c.env.DB, projectId)) === null) {
    throw new ApiError(404, "project_not_found", `Project "${projectId}" does not exist.`);
  }
  if (exportParam !== undefined && !EXPORT_ID.test(exportParam)) {
    throw new ApiError(404, "export_not_found", `Export "${exportParam.slice(0, 80)}" does not exist in this project; GET …/metrics-exports lists them.`);
  }
  return { projectId, ref: exportParam ?? null, actor, stub: c.env.PROJECTS.getByName(projectId) };
}

function endpointWarnings(c: Context<AppEnv>, endpoint: string | undefined): string[] {
  if (endpoint === undefined) return [];
  const check = checkEndpoint(endpoint, c.get("settings").allowPrivateEndpoints);
  if (!check.ok) throw invalid(`endpoint: ${check.message}.`);
  return check.warnings;
}

async function putInput(c: Context<AppEnv>) {
  const parsed = ExportConfigPut.safeParse(await readJsonBody(c, { maxBytes: MAX_CONFIG_BODY_BYTES }));
  if (!parsed.success) throw zodToApiError(parsed.error);
  return { input: parsed.data, warnings: endpointWarnings(c, parsed.data.endpoint) };
}

const collection = "/v1/projects/:project_id/metrics-exports";

metricsExportRoutes.get(collection, async (c) => {
  const { projectId, stub } = await projectObject(c);
  return c.json(await stub.listExports(projectId));
});

metricsExportRoutes.post(collection, async (c) => {
  const { projectId, actor, stub } = await projectObject(c);
  const { input, warnings } = await putInput(c);
  return c.json(unwrap(await stub.createExport(projectId, input, warnings, actor)), 201);
});

// The same routes for one export of the collection and for the singular (first) export.
for (const base of ["/v1/projects/:project_id/metrics-export", `${collection}/:export_id`]) {
  metricsExportRoutes.get(base, async (c) => {
    const { projectId, ref, stub } = await projectObject(c);
    return c.json(unwrap(await stub.getExport(projectId, ref)));
  });

  metricsExportRoutes.put(base, async (c) => {
    const { projectId, ref, actor, stub } = await projectObject(c);
    const { input, warnings } = await putInput(c);
    return c.json(unwrap(await stub.putExport(projectId, ref, input, warnings, actor)));
  });

  metricsExportRoutes.patch(base, async (c) => {
    const { projectId, ref, actor, stub } = await projectObject(c);
    const parsed = ExportConfigPatch.safeParse(await readJsonBody(c, { maxBytes: MAX_CONFIG_BODY_BYTES }));
    if (!parsed.success) throw zodToApiError(parsed.error);
    const warnings = endpointWarnings(c, parsed.data.endpoint);
    return c.json(unwrap(await stub.patchExport(projectId, ref, parsed.data, warnings, actor)));
  });

  metricsExportRoutes.delete(base, async (c) => {
    const { projectId, ref, actor, stub } = await projectObject(c);
    unwrap(await stub.deleteExport(projectId, ref, actor));
    return c.body(null, 204);
  });

  metricsExportRoutes.post(`${base}/resume`, async (c) => {
    const { projectId, ref, actor, stub } = await projectObject(c);
    await noInput(c);
    return c.json(unwrap(await stub.resumeExport(projectId, ref, actor)));
  });

  metricsExportRoutes.post(`${base}/test`, async (c) => {
    const { projectId, ref, stub } = await projectObject(c);
    const parsed = ConnectionTestInput.safeParse(await readOptionalJsonBody(c, MAX_CONFIG_BODY_BYTES));
    if (!parsed.success) throw zodToApiError(parsed.error);
    endpointWarnings(c, parsed.data.endpoint);
    return c.json(unwrap(await stub.testConnection(projectId, ref, parsed.data)));
  });

  metricsExportRoutes.post(`${base}/flush`, async (c) => {
    const { projectId, ref, stub } = await projectObject(c);
    await noInput(c);
    return c.json(unwrap(await stub.flush(projectId, ref)));
  });

  metricsExportRoutes.get(`${base}/preview`, async (c) => {
    const { projectId, ref, stub } = await projectObject(c);
    const limit = c.req.query("limit");
    if (limit !== undefined && !(/^[1-9][0-9]{0,2}$/.test(limit) && Number(limit) <= MAX_PREVIEW_SERIES)) {
      throw invalid(`limit: must be a whole number from 1 to ${MAX_PREVIEW_SERIES}.`);
    }
    return c.json(unwrap(await stub.preview(projectId, ref, limit === undefined ? undefined : Number(limit))));
  });
}
