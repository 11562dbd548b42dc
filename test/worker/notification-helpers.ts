/** Helpers of the notification webhook tests (notifications.test.ts, notification-settings.test.ts). */
import { expect, vi } from "vitest";
import { hookRequests, hookUrl, newNamespace, receiverUrl, script, type RecordedRequest, type ScriptedResponse } from "../receiver/client";
import { call, createIngestKey, createProject, projectStub } from "./helpers";

export const notifications = (p: string) => `/v1/projects/${p}/notifications`;
export const EVENT_TYPES = ["export.failing", "export.paused", "export.recovered", "export.credentials_unreadable"];
export const NOTIFICATION_ID = /^n-[a-z2-7]{10}$/;
export const SECRET = /^whsec_[A-Za-z0-9_-]{43}$/;
/** Deliveries are asynchronous (after the push's transaction); a few seconds cover retries too. */
export const DELIVERY_WAIT = { timeout: 6_000, interval: 25 };

export const randomHex = (bytes: number) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const nowSec = () => Math.floor(Date.now() / 1000);

/** A project exporting to the receiver with a distinctive header value, and data ingested. */
export async function exporting() {
  const projectId = await createProject();
  const ns = newNamespace();
  const hostId = `host-${ns.slice(0, 8)}`;
  const { key } = await createIngestKey(hostId);
  const headerValue = `NOTIFY-HEADER-${randomHex(12)}`;
  const put = await call("PUT", `/v1/projects/${projectId}/metrics-export`, {
    body: { name: "Grafana prod", endpoint: receiverUrl(ns), headers: [{ name: "X-Scope-Token", value: headerValue }] },
  });
  expect(put.status, put.text).toBe(200);
  const ingest = async () => {
    const r = await call("POST", "/v1/samples", {
      token: key,
      body: {
        host_id: hostId,
        batch_id: crypto.randomUUID(),
        samples: [{ type: "run", project_id: projectId, app_name: "my-model", region: "us-east-1", time: Date.now(), execution_ms: 10, queue_ms: 1, response_ms: 12, success: true }],
      },
    });
    expect(r.status).toBe(202);
  };
  await ingest();
  const flush = async () => {
    const r = await call("POST", `/v1/projects/${projectId}/metrics-export/flush`);
    expect(r.status, r.text).toBe(200);
    return r.body;
  };
  const exportView = async () => (await call("GET", `/v1/projects/${projectId}/metrics-export`)).body;
  return { projectId, ns, headerValue, ingest, flush, exportView, stub: projectStub(projectId) };
}

export interface Hook {
  id: string;
  secret: string;
  ns: string;
  url: string;
  created: any;
}

/** Creates a webhook under a fresh receiver namespace (or `url` when given). */
export async function webhook(projectId: string, body: Record<string, unknown> = {}, suffix = ""): Promise<Hook> {
  const ns = newNamespace();
  const url = (body.url as string | undefined) ?? hookUrl(ns, suffix);
  const r = await call("POST", notifications(projectId), { body: { format: "json", ...body, url } });
  expect(r.status, r.text).toBe(201);
  return { id: r.body.notification_id, secret: r.body.secret, ns, url, created: r.body };
}

export interface Delivery {
  request: RecordedRequest;
  text: string;
  body: any;
}

export async function deliveries(ns: string): Promise<Delivery[]> {
  return (await hookRequests(ns)).map((request) => ({ request, text: request.bodyText ?? "", body: JSON.parse(request.bodyText ?? "null") }));
}

/** Waits until the namespace has received exactly `n` deliveries (and returns them). */
export async function waitForDeliveries(ns: string, n: number): Promise<Delivery[]> {
  await vi.waitFor(async () => expect((await hookRequests(ns)).length).toBe(n), DELIVERY_WAIT);
  return deliveries(ns);
}

export const getNotification = async (projectId: string, id: string) => (await call("GET", `${notifications(projectId)}/${id}`)).body;

/** Waits until no webhook of the project has a delivery queued. */
export async function settled(projectId: string): Promise<void> {
  await vi.waitFor(async () => {
    const list = (await call("GET", notifications(projectId))).body.notifications as any[];
    expect(list.map((n) => n.pending_deliveries)).toEqual(list.map(() => 0));
  }, DELIVERY_WAIT);
}

/** The JSON body of a push failing with the receiver's answer `failure` `n` times in a row. */
export async function failPushes(t: Awaited<ReturnType<typeof exporting>>, n: number, failure: ScriptedResponse = { status: 400, echoHeaders: true }) {
  await script(t.ns, Array.from({ length: n }, () => failure));
  for (let i = 0; i < n; i++) expect((await t.flush()).ok).toBe(false);
}
