import type { Context } from "hono";
import type { AppEnv } from "../context";
import { ApiError } from "../errors";

/** Configuration and admin request bodies. */
export const MAX_CONFIG_BODY_BYTES = 32 * 1024;
export const PROJECT_ID = /^p-[a-z0-9]{4,32}$/;

/** The `:project_id` path parameter; a malformed id cannot name a project. */
export function projectIdParam(c: Context<AppEnv>): string {
  const id = c.req.param("project_id") ?? "";
  if (!PROJECT_ID.test(id)) throw new ApiError(404, "project_not_found", "No such project.");
  return id;
}
