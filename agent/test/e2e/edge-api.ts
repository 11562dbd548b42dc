/** The worker's admin and project API as the agent's end-to-end tests use it (README "API"). */
import type { Worker } from "../../../test/e2e/harness";

export interface EdgeApi {
  call(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** A project with this id, and a project key for it. */
  project(projectId: string): Promise<string>;
  ingestKey(hostId: string): Promise<string>;
  /** Per (app_name, region): the value of a counter in the next push (the preview), e.g. cerebrium_run_total. */
  counter(projectId: string, metric: string): Promise<Map<string, number>>;
}

interface OtlpPoint {
  attributes: { key: string; value: { stringValue?: string } }[];
  asInt?: string | number;
  asDouble?: number;
}

export function edgeApi(worker: Worker): EdgeApi {
  const call: EdgeApi["call"] = async (method, path, token, body) => {
    const response = await fetch(`${worker.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    call,
    async project(projectId) {
      const created = await call("POST", "/v1/projects", worker.adminToken, { project_id: projectId, name: projectId });
      if (created.status !== 201) throw new Error(`create ${projectId}: ${created.status} ${JSON.stringify(created.body)}`);
      return (await call("POST", `/v1/projects/${projectId}/keys`, worker.adminToken, {})).body.key as string;
    },
    async ingestKey(hostId) {
      const created = await call("POST", "/v1/ingest-keys", worker.adminToken, { host_id: hostId });
      if (created.status !== 201) throw new Error(`ingest key for ${hostId}: ${created.status}`);
      return created.body.key as string;
    },
    async counter(projectId, metric) {
      const preview = await call("GET", `/v1/projects/${projectId}/metrics-export/preview?limit=100`, worker.adminToken);
      const out = new Map<string, number>();
      for (const rm of preview.body.request.resourceMetrics ?? []) {
        for (const sm of rm.scopeMetrics ?? []) {
          for (const m of sm.metrics ?? []) {
            if (m.name !== metric) continue;
            for (const p of (m.sum?.dataPoints ?? []) as OtlpPoint[]) {
              const attr = (key: string) => p.attributes.find((a) => a.key === key)?.value.stringValue;
              out.set(`${attr("app_name")}|${attr("region")}`, Number(p.asInt ?? p.asDouble));
            }
          }
        }
      }
      return out;
    },
  };
}
