/**
 * POST /v1/samples: a GPU host's batch. Validated here, grouped by project, and handed to each
 * project's object over RPC in parallel. 202 means every accepted sample is in Durable Object storage.
 */
import { Hono, type Context } from "hono";
import { requireIngest } from "../auth";
import { readJsonBody } from "../body";
import type { AppEnv } from "../context";
import { ApiError } from "../errors";
import { packSamples } from "../aggregation/packed-samples";
import { existingProjects } from "../projects";
import { parseEnvelope, parseSamples, type SampleInput, type SampleRejection } from "../validation/samples";

/** Decompressed body limit (a gzip bomb stops inflating here). */
export const MAX_SAMPLES_BODY_BYTES = 1024 * 1024;

export const sampleRoutes = new Hono<AppEnv>();

/**
 * BENCH_ROUTES="true" only: the `x-bench-now` header (Unix ms) stands in for the clock of this
 * request, so the cost benchmark can post an hour of batches in seconds and see the ledger expire
 * as it would (bench/cost.ts). Ignored otherwise.
 */
function benchNow(c: Context<AppEnv>): number | null {
  if (!c.get("settings").benchRoutes) return null;
  const value = c.req.header("x-bench-now");
  return value !== undefined && /^\d{13}$/.test(value) ? Number(value) : null;
}

sampleRoutes.post("/v1/samples", async (c) => {
  const key = requireIngest(c);
  const nowMs = benchNow(c) ?? Date.now();
  const envelope = parseEnvelope(await readJsonBody(c, { maxBytes: MAX_SAMPLES_BODY_BYTES, allowGzip: true }));
  if (!envelope.ok) {
    throw new ApiError(envelope.status, envelope.status === 413 ? "payload_too_large" : "invalid_request", envelope.message);
  }
  const { hostId, batchId, samples } = envelope.value;
  if (hostId !== key.hostId) {
    throw new ApiError(403, "forbidden", `This ingest key belongs to host "${key.hostId}"; it cannot post as "${hostId}".`);
  }
  const { valid, rejected } = parseSamples(samples, nowMs);

  const byProject = new Map<string, SampleInput[]>();
  for (const s of valid) {
    let group = byProject.get(s.projectId);
    if (!group) byProject.set(s.projectId, (group = []));
    group.push(s);
  }
  const existing = await existingProjects(c.env.DB, [...byProject.keys()], nowMs);
  for (const [projectId, group] of byProject) {
    if (existing.has(projectId)) continue;
    for (const s of group) rejected.push({ index: s.index, code: "unknown_project", message: `Project "${projectId}" does not exist.` });
    byProject.delete(projectId);
  }

  const results = await Promise.all(
    [...byProject].map(([projectId, group]) =>
      c.env.PROJECTS.getByName(projectId).ingest(projectId, hostId, batchId, packSamples(group), nowMs),
    ),
  );
  let accepted = 0;
  let rejectedTotal = rejected.length;
  const allRejected: SampleRejection[] = rejected;
  for (const r of results) {
    accepted += r.accepted;
    rejectedTotal += r.rejectedCount;
    allRejected.push(...r.rejected);
  }
  allRejected.sort((a, b) => a.index - b.index);
  const duplicate = results.length > 0 && results.every((r) => r.duplicate);
  // A duplicate's answer lists only the first few of the objects' rejections (the batch ledger keeps
  // them in bounded form); rejected_total then says how many there were.
  const truncated = rejectedTotal > allRejected.length ? { rejected_total: rejectedTotal } : {};
  return c.json({ accepted, duplicate, rejected: allRejected, ...truncated }, 202);
});

/**
 * The ingest benchmark's baseline (BENCH_ROUTES="true" only): the same authentication and body
 * parsing as POST /v1/samples, without validation or storage.
 */
sampleRoutes.post("/_bench/parse", async (c) => {
  if (!c.get("settings").benchRoutes) return c.notFound();
  requireIngest(c);
  const body = await readJsonBody(c, { maxBytes: MAX_SAMPLES_BODY_BYTES, allowGzip: true });
  const samples = (body as { samples?: unknown[] } | null)?.samples;
  return c.json({ accepted: Array.isArray(samples) ? samples.length : 0, duplicate: false, rejected: [] }, 202);
});
