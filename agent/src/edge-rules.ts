/**
 * The edge's own validation rules, reused rather than copied: `src/validation/samples.ts` is pure and
 * has no runtime dependencies, so the agent bundles it. Whatever the agent accepts on `POST /runs` or
 * builds from a mapping is therefore exactly what `POST /v1/samples` accepts (apart from projects the
 * agent cannot know about, which the edge rejects as `unknown_project`).
 */
import { parseEnvelope, parseSamples } from "../../src/validation/samples";

export { MAX_SAMPLES_PER_BATCH, parseSamples, type RunSampleInput, type SampleRejection } from "../../src/validation/samples";

/** The edge's message for an unusable (project_id, app_name, region), or null when all three are valid. */
export function identityProblem(projectId: string, appName: string, region: string, nowMs: number): string | null {
  const probe = { type: "run", project_id: projectId, app_name: appName, region, time: nowMs, execution_ms: 0, queue_ms: 0, response_ms: 0, success: true };
  return parseSamples([probe], nowMs).rejected[0]?.message ?? null;
}

/** The edge's message for an unusable host_id, or null. */
export function hostIdProblem(hostId: string): string | null {
  const result = parseEnvelope({ host_id: hostId, batch_id: "probe", samples: [{}] });
  return result.ok ? null : result.message;
}
