/**
 * Promises that only the real runtime with its production settings can show: a gzip bomb is refused
 * in bounded memory (workerd's peak RSS, read from /proc), Send now is rate limited and coalesced,
 * and a deployment that switches ALLOW_PRIVATE_ENDPOINTS off neither pushes to nor tests a private
 * endpoint saved while it was on.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type Receiver } from "../receiver/receiver";
import { api, createProjectClearOfSchedule, peakRssBytes, startWorker, type Worker } from "./harness";

const MIB = 1024 * 1024;

/** A gzip body that inflates to `inflatedBytes` of JSON-looking text (spaces after an opening brace). */
function gzipBomb(inflatedBytes: number): Buffer {
  const plain = Buffer.alloc(inflatedBytes, 0x20);
  plain.write('{"host_id":"bomb-host","batch_id":"b","samples":[');
  return gzipSync(plain, { level: 9 });
}

/** One worker with the production defaults (but private endpoints allowed) for the first two blocks. */
let worker: Worker;
beforeAll(async () => {
  worker = await startWorker();
});
afterAll(async () => {
  await worker?.stop();
});

describe("a gzip bomb on POST /v1/samples", () => {
  let ingestKey: string;
  beforeAll(async () => {
    ingestKey = (await api(worker, "POST", "/v1/ingest-keys", worker.adminToken, { host_id: "bomb-host" })).body.key;
  });

  async function post(body: Buffer) {
    const response = await fetch(`${worker.url}/v1/samples`, {
      method: "POST",
      headers: { authorization: `Bearer ${ingestKey}`, "content-type": "application/json", "content-encoding": "gzip" },
      body: new Uint8Array(body),
    });
    return { status: response.status, body: (await response.json()) as { error: { code: string } } };
  }

  it.each([
    ["256 MiB", 256 * MIB],
    ["1 GiB (the most a 1 MiB upload can hold)", 1024 * MIB - 64 * 1024],
  ])("inflating to %s is refused with 413 while workerd's peak memory rises by well under 100 MiB", async (_label, inflated) => {
    const bomb = gzipBomb(inflated);
    expect(bomb.byteLength).toBeLessThan(MIB); // within the compressed cap: it really is inflated
    const pid = worker.workerdPid();
    // Warm up the path with a small valid gzip body so that lazily allocated parts are counted before.
    const warm = await post(gzipSync(Buffer.from('{"host_id":"bomb-host","batch_id":"w","samples":[{}]}')));
    expect(warm.status).toBe(202);
    const before = peakRssBytes(pid);
    const r = await post(bomb);
    const after = peakRssBytes(pid);
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe("payload_too_large");
    console.log(`gzip bomb ${_label}: ${bomb.byteLength} bytes compressed; workerd peak RSS ${(before / MIB).toFixed(1)} → ${(after / MIB).toFixed(1)} MiB`);
    expect(after - before).toBeLessThan(50 * MIB);
  });

  it("a 4 GiB bomb (several gzip members) is refused with 413 before anything is inflated", async () => {
    const member = gzipBomb(256 * MIB);
    const bomb = Buffer.concat(Array.from({ length: 16 }, () => member));
    const pid = worker.workerdPid();
    const before = peakRssBytes(pid);
    const r = await post(bomb);
    expect(r.status).toBe(413);
    expect(peakRssBytes(pid) - before).toBeLessThan(50 * MIB);
  });
});

describe("Send now under the default limit (EXPORT_FLUSHES_PER_MINUTE = 6)", () => {
  it("20 concurrent flushes make one push: 6 answered with it, 14 refused with 429 rate_limited", async () => {
    const receiver = await startReceiver();
    try {
      const ns = "send-now";
      // The default 60 s interval: a scheduled push inside this test would be a second request.
      const projectId = await createProjectClearOfSchedule(worker, "send-now", { intervalSeconds: 60, clearMs: 25_000 });
      const key = (await api(worker, "POST", `/v1/projects/${projectId}/keys`, worker.adminToken, {})).body.key;
      const ingest = (await api(worker, "POST", "/v1/ingest-keys", worker.adminToken, { host_id: "send-now-host" })).body.key;
      expect((await api(worker, "PUT", `/v1/projects/${projectId}/metrics-export`, key, { endpoint: `http://127.0.0.1:${receiver.port}/r/${ns}` })).status).toBe(200);
      const sample = { type: "run", project_id: projectId, app_name: "my-model", region: "us-east-1", time: Date.now(), execution_ms: 1, queue_ms: 1, response_ms: 2, success: true };
      expect((await api(worker, "POST", "/v1/samples", ingest, { host_id: "send-now-host", batch_id: "s1", samples: [sample] })).status).toBe(202);
      // The destination answers slowly, so every flush arrives while the first push runs.
      const script = await fetch(`http://127.0.0.1:${receiver.port}/control/${ns}/script`, { method: "PUT", body: JSON.stringify([{ delayMs: 1500 }]) });
      expect(script.status).toBe(204);
      const answers = await Promise.all(Array.from({ length: 20 }, () => api(worker, "POST", `/v1/projects/${projectId}/metrics-export/flush`, key)));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses.filter((s) => s === 200)).toHaveLength(6);
      expect(statuses.filter((s) => s === 429)).toHaveLength(14);
      for (const a of answers) {
        if (a.status === 200) expect(a.body).toMatchObject({ ok: true, requests: 1 });
        else expect(a.body.error.code).toBe("rate_limited");
      }
      const count = await (await fetch(`http://127.0.0.1:${receiver.port}/control/${ns}/count`)).json();
      expect(count).toEqual({ count: 1 });
    } finally {
      await receiver.close();
    }
  });
});

describe("ALLOW_PRIVATE_ENDPOINTS switched off after a private endpoint was saved", () => {
  const vars = {
    ADMIN_TOKEN: `e2e-${randomBytes(16).toString("hex")}`,
    HEADER_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    // Only the pushes asked for below: a scheduled one would add a failure the assertions do not expect.
    EXPORT_INTERVAL_SECONDS: "3600",
  };
  let state: string;
  let receiver: Receiver;
  let deployment: Worker;
  let projectId: string;
  let projectKey: string;
  const namespace = "private-switch";

  beforeAll(async () => {
    state = mkdtempSync(path.join(tmpdir(), "e2e-state-"));
    receiver = await startReceiver();
    const before = await startWorker({ vars: { ...vars, ALLOW_PRIVATE_ENDPOINTS: "true" }, state });
    try {
      projectId = await createProjectClearOfSchedule(before, "private", { intervalSeconds: 3600, clearMs: 10 * 60_000 });
      projectKey = (await api(before, "POST", `/v1/projects/${projectId}/keys`, vars.ADMIN_TOKEN, {})).body.key;
      const put = await api(before, "PUT", `/v1/projects/${projectId}/metrics-export`, projectKey, {
        endpoint: `http://127.0.0.1:${receiver.port}/r/${namespace}`,
        headers: [{ name: "Authorization", value: "Bearer private-switch-secret" }],
      });
      expect(put.status).toBe(200);
    } finally {
      await before.stop();
    }
    deployment = await startWorker({ vars: { ...vars, ALLOW_PRIVATE_ENDPOINTS: "false" }, state });
    const ingest = (await api(deployment, "POST", "/v1/ingest-keys", vars.ADMIN_TOKEN, { host_id: "private-host" })).body.key;
    const sample = { type: "run", project_id: projectId, app_name: "my-model", region: "us-east-1", time: Date.now(), execution_ms: 1, queue_ms: 1, response_ms: 2, success: true };
    const posted = await api(deployment, "POST", "/v1/samples", ingest, { host_id: "private-host", batch_id: "p1", samples: [sample] });
    expect(posted.status).toBe(202);
  });
  afterAll(async () => {
    await deployment?.stop();
    await receiver?.close();
    if (state) rmSync(state, { recursive: true, force: true });
  });

  async function received(): Promise<number> {
    const r = await fetch(`http://127.0.0.1:${receiver.port}/control/${namespace}/count`);
    return ((await r.json()) as { count: number }).count;
  }

  it("a push sends nothing and the status says why, with a hint to change the endpoint", async () => {
    const flush = await api(deployment, "POST", `/v1/projects/${projectId}/metrics-export/flush`, projectKey);
    expect(flush.status).toBe(200);
    expect(flush.body).toMatchObject({ ok: false, requests: 0, error: { classification: "endpoint_not_allowed", http_status: null } });
    const view = await api(deployment, "GET", `/v1/projects/${projectId}/metrics-export`, projectKey);
    expect(view.body.status).toMatchObject({ state: "failing", consecutive_failures: 1, last_error: { classification: "endpoint_not_allowed" } });
    expect(view.body.status.last_error.hint).toMatch(/Change the endpoint/);
    expect(await received()).toBe(0);
  });

  it("Test Connection of the saved endpoint sends nothing either", async () => {
    const tested = await api(deployment, "POST", `/v1/projects/${projectId}/metrics-export/test`, projectKey);
    expect(tested.status).toBe(200);
    expect(tested.body).toMatchObject({ ok: false, classification: "endpoint_not_allowed", http_status: null });
    expect(await received()).toBe(0);
  });
});
