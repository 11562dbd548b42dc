/**
 * The bad-input corpus (issue 6): every route fed malformed, oversized, hostile or unauthorised
 * input. Each row asserts the exact status and error code (or, for a batch whose samples are all
 * rejected one by one, the per-sample codes), that nothing answered 5xx, and that stored state (D1
 * and the objects of both fixture projects) is byte-for-byte unchanged, compared as a SHA-256 digest.
 *
 * The worker suite runs with ALLOW_PRIVATE_ENDPOINTS="true" so exports can reach the local receiver;
 * private endpoints are therefore tried against the worker's own fetch handler with a copy of the
 * environment that sets it to "false" (the settings cache is keyed by the env object, so the copy
 * gets settings of its own). The pure checks are in test/unit/endpoint.test.ts and
 * test/unit/bad-endpoints.test.ts.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { ErrorCode } from "../../src/errors";
import app from "../../src/index";
import { settingsOf } from "../../src/settings";
import { MAX_BYTES, MAX_CORES, MAX_COUNT, type SampleRejectionCode } from "../../src/validation/samples";
import { metrics, newNamespace, receiverUrl, requestCount, requests } from "../receiver/client";
import { ADMIN, call, createIngestKey, createProject, createProjectKey, d1Dump, objectDump, type ApiResponse } from "./helpers";

interface Fixture {
  /** Export configured (disabled, so no alarm changes it behind the corpus' back), with data ingested. */
  pA: string;
  /** Exists, object bound, no export configured. */
  pB: string;
  keyA: string;
  keyB: string;
  revokedProjectKey: string;
  host: string;
  ingest: string;
  revokedIngest: string;
  revokedKeyId: string;
  /** Receiver namespace of pA's configured endpoint: nothing may ever reach it. */
  ns: string;
  /** pA's three notification webhooks (the most a project may have), named Pager, Chat and Webhook. */
  notificationId: string;
  otherNotificationId: string;
  /** Receiver namespace of pA's webhooks: nothing may ever reach it either. */
  hookNs: string;
}

interface Case {
  name: string;
  method: string;
  path: (f: Fixture) => string;
  /** Default: the admin token; null: no Authorization header. */
  token?: (f: Fixture) => string | null;
  /** Serialised with JSON.stringify and sent as application/json. */
  json?: (f: Fixture) => unknown;
  /** Sent as is, with `headers` (a string body gets text/plain unless a content type is given). */
  raw?: (f: Fixture) => BodyInit | Promise<BodyInit>;
  headers?: Record<string, string>;
  /** Send to the worker's fetch handler with ALLOW_PRIVATE_ENDPOINTS="false". */
  production?: true;
  status: number;
  /** The error code (every status >= 400). */
  code?: ErrorCode;
  /** Per-sample rejection codes of a 202 that accepted nothing. */
  rejected?: SampleRejectionCode[];
  message?: RegExp;
}

// --- bodies ------------------------------------------------------------------------------------------

const JSON_TYPE = { "content-type": "application/json" };
const GZIP_JSON = { "content-type": "application/json", "content-encoding": "gzip" };
const utf8 = new TextEncoder();

async function gzip(data: string | Uint8Array): Promise<Uint8Array> {
  const bytes = typeof data === "string" ? utf8.encode(data) : data;
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function run(f: Fixture, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "run",
    project_id: f.pA,
    app_name: "bad-input",
    region: "us-east-1",
    time: Date.now(),
    execution_ms: 10,
    queue_ms: 1,
    response_ms: 12,
    success: true,
    ...over,
  };
}

function resource(f: Fixture, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "resource",
    project_id: f.pA,
    app_name: "bad-input",
    region: "us-east-1",
    time: Date.now(),
    cpu_cores: 1,
    memory_bytes: 1024,
    gpu_memory_bytes: 2048,
    gpu_compute_percent: 50,
    gpu_count: 1,
    containers_running: 1,
    containers_ready: 1,
    ...over,
  };
}

function batch(f: Fixture, samples: unknown[], over: Record<string, unknown> = {}): Record<string, unknown> {
  return { host_id: f.host, batch_id: crypto.randomUUID(), samples, ...over };
}

/** A batch's JSON text with `sample` spliced in verbatim (for text that JSON.stringify cannot produce). */
function batchText(f: Fixture, sample: string): string {
  return `{"host_id":"${f.host}","batch_id":"${crypto.randomUUID()}","samples":[${sample}]}`;
}

function utf16(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) out[2 * i] = text.charCodeAt(i); // ASCII text: high bytes stay 0
  return out;
}

const nestedArrays = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
const nestedObjects = (depth: number) => '{"a":'.repeat(depth) + "1" + "}".repeat(depth);

/** 10,000 samples, each for a different app, as compact as a sample gets. */
function tenThousandApps(f: Fixture, full: boolean): string {
  const samples = Array.from({ length: 10_000 }, (_, i) =>
    full ? JSON.stringify(run(f, { app_name: `app-${i}` })) : `{"app_name":"app-${i}"}`,
  );
  return `{"host_id":"${f.host}","batch_id":"ten-thousand-apps","samples":[${samples.join(",")}]}`;
}

/** A body stream of `bytes` zeros with no declared length (chunked). */
function endlessBody(bytes: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      const chunk = new Uint8Array(Math.min(64 * 1024, bytes - sent)).fill(0x20);
      sent += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
}

function swapCaseAt(key: string, from: number): string {
  for (let i = from; i < key.length; i++) {
    const ch = key[i]!;
    const swapped = ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase();
    if (swapped !== ch) return key.slice(0, i) + swapped + key.slice(i + 1);
  }
  throw new Error("no letter to swap");
}

// --- the corpus ----------------------------------------------------------------------------------------

const exp = (f: Fixture) => `/v1/projects/${f.pA}/metrics-export`;
const expB = (f: Fixture) => `/v1/projects/${f.pB}/metrics-export`;
const MIB = 1024 * 1024;
const KIB = 1024;
const HTTP_ENDPOINT = "https://otlp.example.com/otlp";

const authCases: Case[] = [
  { name: "no Authorization header", method: "GET", path: () => "/v1/projects", token: () => null, status: 401, code: "unauthorized" },
  { name: "admin token with one character more", method: "GET", path: () => "/v1/projects", token: () => ADMIN + "x", status: 401, code: "unauthorized" },
  { name: "admin token with one character less", method: "GET", path: () => "/v1/projects", token: () => ADMIN.slice(0, -1), status: 401, code: "unauthorized" },
  { name: "admin token with one character more, creating a project", method: "POST", path: () => "/v1/projects", token: () => ADMIN + "0", json: () => ({ name: "x" }), status: 401, code: "unauthorized" },
  { name: "admin token with one character less, on stats", method: "GET", path: (f) => `/v1/projects/${f.pA}/stats`, token: () => ADMIN.slice(0, -1), status: 401, code: "unauthorized" },
  { name: "admin token with its case changed", method: "GET", path: () => "/v1/projects", token: () => ADMIN.toUpperCase(), status: 401, code: "unauthorized" },
  { name: "admin token under the Basic scheme", method: "GET", path: () => "/v1/projects", token: () => null, headers: { authorization: `Basic ${ADMIN}` }, status: 401, code: "unauthorized" },
  { name: "Bearer with two spaces", method: "GET", path: () => "/v1/projects", token: () => null, headers: { authorization: `Bearer  ${ADMIN}` }, status: 401, code: "unauthorized" },
  { name: "Bearer with no token", method: "GET", path: () => "/v1/projects", token: () => null, headers: { authorization: "Bearer" }, status: 401, code: "unauthorized" },
  { name: "a 513-character token", method: "GET", path: () => "/v1/projects", token: () => "a".repeat(513), status: 401, code: "unauthorized" },
  { name: "revoked ingest key", method: "POST", path: () => "/v1/samples", token: (f) => f.revokedIngest, json: (f) => batch(f, [run(f)]), status: 401, code: "unauthorized" },
  { name: "truncated ingest key", method: "POST", path: () => "/v1/samples", token: (f) => f.ingest.slice(0, -1), json: (f) => batch(f, [run(f)]), status: 401, code: "unauthorized" },
  { name: "ingest key with one character more", method: "POST", path: () => "/v1/samples", token: (f) => f.ingest + "A", json: (f) => batch(f, [run(f)]), status: 401, code: "unauthorized" },
  { name: "case-changed ingest key", method: "POST", path: () => "/v1/samples", token: (f) => swapCaseAt(f.ingest, 7), json: (f) => batch(f, [run(f)]), status: 401, code: "unauthorized" },
  { name: "ingest key with an upper-case prefix", method: "POST", path: () => "/v1/samples", token: (f) => f.ingest.replace("cmx_ik_", "CMX_IK_"), json: (f) => batch(f, [run(f)]), status: 401, code: "unauthorized" },
  { name: "ingest key relabelled as a project key", method: "GET", path: exp, token: (f) => f.ingest.replace("cmx_ik_", "cmx_pk_"), status: 401, code: "unauthorized" },
  { name: "revoked project key", method: "GET", path: exp, token: (f) => f.revokedProjectKey, status: 401, code: "unauthorized" },
  { name: "revoked project key, saving a configuration", method: "PUT", path: exp, token: (f) => f.revokedProjectKey, json: () => ({ endpoint: HTTP_ENDPOINT }), status: 401, code: "unauthorized" },
  { name: "truncated project key", method: "PATCH", path: exp, token: (f) => f.keyA.slice(0, -1), json: () => ({ enabled: true }), status: 401, code: "unauthorized" },
  { name: "case-changed project key", method: "DELETE", path: exp, token: (f) => swapCaseAt(f.keyA, 7), status: 401, code: "unauthorized" },
  { name: "no token on preview", method: "GET", path: (f) => `${exp(f)}/preview`, token: () => null, status: 401, code: "unauthorized" },
  { name: "no token on samples", method: "POST", path: () => "/v1/samples", token: () => null, json: (f) => batch(f, [run(f)]), status: 401, code: "unauthorized" },

  { name: "project key used on another project (GET)", method: "GET", path: expB, token: (f) => f.keyA, status: 403, code: "forbidden" },
  { name: "project key used on another project (PUT)", method: "PUT", path: expB, token: (f) => f.keyA, json: () => ({ endpoint: HTTP_ENDPOINT }), status: 403, code: "forbidden" },
  { name: "project key used on another project (DELETE)", method: "DELETE", path: exp, token: (f) => f.keyB, status: 403, code: "forbidden" },
  { name: "project key used on another project (resume)", method: "POST", path: (f) => `${exp(f)}/resume`, token: (f) => f.keyB, status: 403, code: "forbidden" },
  { name: "project key used on another project (test)", method: "POST", path: (f) => `${exp(f)}/test`, token: (f) => f.keyB, status: 403, code: "forbidden" },
  { name: "project key used on another project (flush)", method: "POST", path: (f) => `${exp(f)}/flush`, token: (f) => f.keyB, status: 403, code: "forbidden" },
  { name: "project key used on another project (preview)", method: "GET", path: (f) => `${exp(f)}/preview`, token: (f) => f.keyB, status: 403, code: "forbidden" },
  { name: "project key on a nonexistent project", method: "GET", path: () => "/v1/projects/p-nosuchproject/metrics-export", token: (f) => f.keyA, status: 403, code: "forbidden" },
  { name: "project key creating a project", method: "POST", path: () => "/v1/projects", token: (f) => f.keyA, json: () => ({}), status: 403, code: "forbidden" },
  { name: "project key listing projects", method: "GET", path: () => "/v1/projects", token: (f) => f.keyA, status: 403, code: "forbidden" },
  { name: "project key creating a key for its own project", method: "POST", path: (f) => `/v1/projects/${f.pA}/keys`, token: (f) => f.keyA, json: () => ({}), status: 403, code: "forbidden" },
  { name: "project key creating an ingest key", method: "POST", path: () => "/v1/ingest-keys", token: (f) => f.keyA, json: () => ({ host_id: "h" }), status: 403, code: "forbidden" },
  { name: "project key revoking a key", method: "DELETE", path: () => "/v1/keys/key_0000000000000000", token: (f) => f.keyA, status: 403, code: "forbidden" },
  { name: "project key reading its own project's stats", method: "GET", path: (f) => `/v1/projects/${f.pA}/stats`, token: (f) => f.keyA, status: 403, code: "forbidden" },
  { name: "project key posting samples", method: "POST", path: () => "/v1/samples", token: (f) => f.keyA, json: (f) => batch(f, [run(f)]), status: 403, code: "forbidden" },
  { name: "admin token posting samples", method: "POST", path: () => "/v1/samples", json: (f) => batch(f, [run(f)]), status: 403, code: "forbidden" },
  { name: "ingest key reading an export configuration", method: "GET", path: exp, token: (f) => f.ingest, status: 403, code: "forbidden" },
  { name: "ingest key deleting an export configuration", method: "DELETE", path: exp, token: (f) => f.ingest, status: 403, code: "forbidden" },
  { name: "ingest key creating a project key", method: "POST", path: (f) => `/v1/projects/${f.pA}/keys`, token: (f) => f.ingest, json: () => ({}), status: 403, code: "forbidden" },
  { name: "a host_id other than the key's", method: "POST", path: () => "/v1/samples", token: (f) => f.ingest, json: (f) => batch(f, [run(f)], { host_id: "someone-else" }), status: 403, code: "forbidden" },
  {
    name: "duplicate host_id keys, the last naming another host (JSON.parse keeps the last)",
    method: "POST",
    path: () => "/v1/samples",
    token: (f) => f.ingest,
    raw: (f) => `{"host_id":"${f.host}","batch_id":"dup","samples":[${JSON.stringify(run(f))}],"host_id":"someone-else"}`,
    headers: JSON_TYPE,
    status: 403,
    code: "forbidden",
  },
];

/** POST /v1/samples with the fixture's ingest key. */
const sampleCases: Case[] = (
  [
    // Whole-request failures: nothing is stored.
    { name: "empty body", raw: () => "", headers: JSON_TYPE, status: 400, code: "invalid_json" },
    { name: "malformed JSON", raw: () => '{"host_id":', headers: JSON_TYPE, status: 400, code: "invalid_json" },
    { name: "truncated JSON", raw: (f) => JSON.stringify(batch(f, [run(f), run(f)])).slice(0, 150), headers: JSON_TYPE, status: 400, code: "invalid_json" },
    { name: "NaN as raw text", raw: (f) => batchText(f, JSON.stringify(run(f)).replace('"execution_ms":10', '"execution_ms":NaN')), headers: JSON_TYPE, status: 400, code: "invalid_json" },
    { name: "Infinity as raw text", raw: (f) => batchText(f, JSON.stringify(run(f)).replace('"queue_ms":1', '"queue_ms":Infinity')), headers: JSON_TYPE, status: 400, code: "invalid_json" },
    { name: "-Infinity as raw text", raw: (f) => batchText(f, JSON.stringify(resource(f)).replace('"cpu_cores":1', '"cpu_cores":-Infinity')), headers: JSON_TYPE, status: 400, code: "invalid_json" },
    { name: "a trailing comma", raw: (f) => batchText(f, JSON.stringify(run(f)) + ","), headers: JSON_TYPE, status: 400, code: "invalid_json" },
    { name: "single-quoted strings", raw: () => "{'host_id':'h','batch_id':'b','samples':[]}", headers: JSON_TYPE, status: 400, code: "invalid_json" },
    { name: "a UTF-16 body", raw: (f) => utf16(JSON.stringify(batch(f, [run(f)]))), headers: { "content-type": "application/json; charset=utf-16le" }, status: 400, code: "invalid_json" },
    { name: "bytes that are not UTF-8", raw: () => new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), headers: JSON_TYPE, status: 400, code: "invalid_json" },
    { name: "Content-Type text/plain", raw: (f) => JSON.stringify(batch(f, [run(f)])), headers: { "content-type": "text/plain" }, status: 415, code: "unsupported_media_type" },
    { name: "no Content-Type", raw: (f) => utf8.encode(JSON.stringify(batch(f, [run(f)]))), status: 415, code: "unsupported_media_type" },
    { name: "Content-Type application/x-www-form-urlencoded", raw: (f) => JSON.stringify(batch(f, [run(f)])), headers: { "content-type": "application/x-www-form-urlencoded" }, status: 415, code: "unsupported_media_type" },
    { name: "Content-Type application/jsonl", raw: (f) => JSON.stringify(batch(f, [run(f)])), headers: { "content-type": "application/jsonl" }, status: 415, code: "unsupported_media_type" },
    { name: "Content-Type multipart/form-data", raw: (f) => JSON.stringify(batch(f, [run(f)])), headers: { "content-type": "multipart/form-data; boundary=x" }, status: 415, code: "unsupported_media_type" },
    { name: "a body over 1 MiB", raw: (f) => batchText(f, JSON.stringify(run(f, { note: " ".repeat(MIB) }))), headers: JSON_TYPE, status: 413, code: "payload_too_large" },
    { name: "a streamed body over 1 MiB with no declared length", raw: () => endlessBody(2 * MIB), headers: JSON_TYPE, status: 413, code: "payload_too_large" },
    { name: "a JSON array", json: (f) => [batch(f, [run(f)])], status: 400, code: "invalid_request" },
    { name: "JSON null", raw: () => "null", headers: JSON_TYPE, status: 400, code: "invalid_request" },
    { name: "a JSON string", raw: () => '"samples"', headers: JSON_TYPE, status: 400, code: "invalid_request" },
    { name: "100,000 nested arrays", raw: () => nestedArrays(100_000), headers: JSON_TYPE, status: 400, code: "invalid_request" },
    { name: "100,000 nested objects", raw: () => nestedObjects(100_000), headers: JSON_TYPE, status: 400, code: "invalid_request" },
    { name: "an unknown envelope field", json: (f) => batch(f, [run(f)], { priority: "high" }), status: 400, code: "invalid_request", message: /priority/ },
    { name: "no host_id", json: (f) => batch(f, [run(f)], { host_id: undefined }), status: 400, code: "invalid_request", message: /host_id/ },
    { name: "host_id with a space", json: (f) => batch(f, [run(f)], { host_id: "gpu host" }), status: 400, code: "invalid_request", message: /host_id/ },
    { name: "non-ASCII host_id", json: (f) => batch(f, [run(f)], { host_id: "gpu-hôst" }), status: 400, code: "invalid_request", message: /host_id/ },
    { name: "129-character host_id", json: (f) => batch(f, [run(f)], { host_id: "h".repeat(129) }), status: 400, code: "invalid_request", message: /host_id/ },
    { name: "host_id as a number", json: (f) => batch(f, [run(f)], { host_id: 17 }), status: 400, code: "invalid_request", message: /host_id/ },
    { name: "129-character batch_id", json: (f) => batch(f, [run(f)], { batch_id: "b".repeat(129) }), status: 400, code: "invalid_request", message: /batch_id/ },
    { name: "batch_id with NUL", json: (f) => batch(f, [run(f)], { batch_id: "a\u0000b" }), status: 400, code: "invalid_request", message: /batch_id/ },
    { name: "batch_id with CR/LF", json: (f) => batch(f, [run(f)], { batch_id: "a\r\nb" }), status: 400, code: "invalid_request", message: /batch_id/ },
    { name: "empty batch_id", json: (f) => batch(f, [run(f)], { batch_id: "" }), status: 400, code: "invalid_request", message: /batch_id/ },
    { name: "samples as an object", json: (f) => batch(f, [], { samples: { 0: run(f) } }), status: 400, code: "invalid_request", message: /samples/ },
    { name: "no samples", json: (f) => batch(f, []), status: 400, code: "invalid_request", message: /samples/ },
    { name: "5,001 samples", raw: (f) => batchText(f, new Array(5001).fill("{}").join(",")), headers: JSON_TYPE, status: 413, code: "payload_too_large", message: /5000/ },
    { name: "10,000 apps in one batch", raw: (f) => tenThousandApps(f, false), headers: JSON_TYPE, status: 413, code: "payload_too_large" },
    { name: "10,000 apps in one gzip batch (over 1 MiB inflated)", raw: async (f) => gzip(tenThousandApps(f, true)), headers: GZIP_JSON, status: 413, code: "payload_too_large" },
    { name: "a gzip bomb (64 MiB of zeros)", raw: async () => gzip(new Uint8Array(64 * MIB)), headers: GZIP_JSON, status: 413, code: "payload_too_large" },
    { name: "gzip of a JSON prefix followed by 8 MiB of spaces", raw: async (f) => gzip(`{"host_id":"${f.host}","batch_id":"b","samples":[` + " ".repeat(8 * MIB)), headers: GZIP_JSON, status: 413, code: "payload_too_large" },
    { name: "plain JSON labelled gzip", raw: (f) => JSON.stringify(batch(f, [run(f)])), headers: GZIP_JSON, status: 400, code: "invalid_request", message: /gzip/ },
    { name: "truncated gzip", raw: async (f) => (await gzip(JSON.stringify(batch(f, [run(f), run(f)])))).slice(0, 40), headers: GZIP_JSON, status: 400, code: "invalid_request", message: /gzip/ },
    { name: "gzip with a corrupted checksum", raw: async (f) => corruptTrailer(await gzip(JSON.stringify(batch(f, [run(f)])))), headers: GZIP_JSON, status: 400, code: "invalid_request", message: /gzip/ },
    { name: "Content-Encoding deflate", raw: (f) => JSON.stringify(batch(f, [run(f)])), headers: { ...JSON_TYPE, "content-encoding": "deflate" }, status: 415, code: "unsupported_media_type" },
    { name: "Content-Encoding br", raw: (f) => JSON.stringify(batch(f, [run(f)])), headers: { ...JSON_TYPE, "content-encoding": "br" }, status: 415, code: "unsupported_media_type" },
    { name: "Content-Encoding gzip, gzip", raw: async (f) => gzip(await gzip(JSON.stringify(batch(f, [run(f)])))), headers: { ...JSON_TYPE, "content-encoding": "gzip, gzip" }, status: 415, code: "unsupported_media_type" },

    // Per-sample rejections: 202, nothing accepted, nothing stored.
    { name: "a number as a string", json: (f) => batch(f, [run(f, { execution_ms: "12" })]), status: 202, rejected: ["invalid_field"] },
    { name: "a count as a string", json: (f) => batch(f, [resource(f, { containers_running: "2" })]), status: 202, rejected: ["invalid_field"] },
    { name: '"NaN" as a string', json: (f) => batch(f, [run(f, { queue_ms: "NaN" })]), status: 202, rejected: ["invalid_field"] },
    { name: "1e309 (parses to Infinity)", raw: (f) => batchText(f, JSON.stringify(run(f)).replace('"response_ms":12', '"response_ms":1e309')), headers: JSON_TYPE, status: 202, rejected: ["invalid_field"] },
    { name: "-1e309 (parses to -Infinity)", raw: (f) => batchText(f, JSON.stringify(resource(f)).replace('"memory_bytes":1024', '"memory_bytes":-1e309')), headers: JSON_TYPE, status: 202, rejected: ["invalid_field"] },
    { name: "a negative duration", json: (f) => batch(f, [run(f, { execution_ms: -1 })]), status: 202, rejected: ["invalid_field"] },
    { name: "negative cpu_cores", json: (f) => batch(f, [resource(f, { cpu_cores: -0.5 })]), status: 202, rejected: ["invalid_field"] },
    { name: "negative coldstart_ms", json: (f) => batch(f, [run(f, { coldstart_ms: -5 })]), status: 202, rejected: ["invalid_field"] },
    { name: "a non-integer container count", json: (f) => batch(f, [resource(f, { containers_running: 1.5 })]), status: 202, rejected: ["invalid_field"] },
    { name: "a non-integer gpu_count", json: (f) => batch(f, [resource(f, { gpu_count: 0.5 })]), status: 202, rejected: ["invalid_field"] },
    { name: "a gpu_count beyond 2^53", json: (f) => batch(f, [resource(f, { gpu_count: 2 ** 60 })]), status: 202, rejected: ["invalid_field"] },
    { name: "memory_bytes of the largest double (sums over hosts would overflow)", json: (f) => batch(f, [resource(f, { memory_bytes: Number.MAX_VALUE })]), status: 202, rejected: ["invalid_field"] },
    { name: "bytes above 2^53", json: (f) => batch(f, [resource(f, { gpu_memory_bytes: MAX_BYTES + 2 })]), status: 202, rejected: ["invalid_field"] },
    { name: "cpu_cores above the bound", json: (f) => batch(f, [resource(f, { cpu_cores: MAX_CORES * 1.5 })]), status: 202, rejected: ["invalid_field"] },
    { name: "a container count above the bound", json: (f) => batch(f, [resource(f, { containers_ready: MAX_COUNT + 1 })]), status: 202, rejected: ["invalid_field"] },
    { name: "a percentage above 100", json: (f) => batch(f, [resource(f, { gpu_compute_percent: 100.0001 })]), status: 202, rejected: ["invalid_field"] },
    { name: "a duration above 24 hours", json: (f) => batch(f, [run(f, { response_ms: 86_400_001 })]), status: 202, rejected: ["invalid_field"] },
    { name: "success as a string", json: (f) => batch(f, [run(f, { success: "true" })]), status: 202, rejected: ["invalid_field"] },
    { name: "time 0 (1970)", json: (f) => batch(f, [run(f, { time: 0 })]), status: 202, rejected: ["time_out_of_range"] },
    { name: "time in seconds instead of milliseconds", json: (f) => batch(f, [run(f, { time: Math.floor(Date.now() / 1000) })]), status: 202, rejected: ["time_out_of_range"] },
    { name: "time in the year 1900", json: (f) => batch(f, [run(f, { time: "1900-01-01T00:00:00Z" })]), status: 202, rejected: ["time_out_of_range"] },
    { name: "time two hours ago", json: (f) => batch(f, [run(f, { time: Date.now() - 2 * 3600_000 })]), status: 202, rejected: ["time_out_of_range"] },
    { name: "time ten minutes ahead", json: (f) => batch(f, [resource(f, { time: new Date(Date.now() + 10 * 60_000).toISOString() })]), status: 202, rejected: ["time_out_of_range"] },
    { name: "time in the year 9999", json: (f) => batch(f, [run(f, { time: "9999-12-31T23:59:59Z" })]), status: 202, rejected: ["time_out_of_range"] },
    { name: "time at the end of the Date range (8.64e15 ms)", json: (f) => batch(f, [run(f, { time: 8.64e15 })]), status: 202, rejected: ["time_out_of_range"] },
    { name: "time beyond the Date range, still a safe integer", json: (f) => batch(f, [run(f, { time: Number.MAX_SAFE_INTEGER })]), status: 202, rejected: ["time_out_of_range"] },
    { name: "time 1e309", raw: (f) => batchText(f, JSON.stringify(run(f)).replace(/"time":\d+/, '"time":1e309')), headers: JSON_TYPE, status: 202, rejected: ["invalid_field"] },
    { name: "negative time", json: (f) => batch(f, [run(f, { time: -1 })]), status: 202, rejected: ["invalid_field"] },
    { name: "fractional time", json: (f) => batch(f, [run(f, { time: Date.now() + 0.5 })]), status: 202, rejected: ["invalid_field"] },
    { name: "time in month 13", json: (f) => batch(f, [run(f, { time: "2026-13-01T00:00:00Z" })]), status: 202, rejected: ["invalid_field"] },
    { name: 'time "yesterday"', json: (f) => batch(f, [run(f, { time: "yesterday" })]), status: 202, rejected: ["invalid_field"] },
    { name: "64-character app_name", json: (f) => batch(f, [run(f, { app_name: "a".repeat(64) })]), status: 202, rejected: ["invalid_field"] },
    { name: "non-ASCII app_name", json: (f) => batch(f, [run(f, { app_name: "mödel" })]), status: 202, rejected: ["invalid_field"] },
    { name: "app_name with NUL", json: (f) => batch(f, [run(f, { app_name: "model\u0000x" })]), status: 202, rejected: ["invalid_field"] },
    { name: "app_name with CR/LF", json: (f) => batch(f, [run(f, { app_name: "model\r\nx" })]), status: 202, rejected: ["invalid_field"] },
    { name: "upper-case app_name", json: (f) => batch(f, [run(f, { app_name: "My-Model" })]), status: 202, rejected: ["invalid_field"] },
    { name: "33-character region", json: (f) => batch(f, [run(f, { region: "r".repeat(33) })]), status: 202, rejected: ["invalid_field"] },
    { name: "non-ASCII region", json: (f) => batch(f, [resource(f, { region: "eu-zürich-1" })]), status: 202, rejected: ["invalid_field"] },
    { name: "empty region", json: (f) => batch(f, [run(f, { region: "" })]), status: 202, rejected: ["invalid_field"] },
    { name: "a project that does not exist", json: (f) => batch(f, [run(f, { project_id: "p-doesnotexist0" })]), status: 202, rejected: ["unknown_project"] },
    { name: "a malformed project_id", json: (f) => batch(f, [run(f, { project_id: "P-UPPER" })]), status: 202, rejected: ["invalid_field"] },
    { name: "an unknown sample field", json: (f) => batch(f, [run(f, { gpu_temperature: 80 })]), status: 202, rejected: ["unknown_field"] },
    { name: "a __proto__ field", raw: (f) => batchText(f, JSON.stringify(run(f)).replace("{", '{"__proto__":{"admin":true},')), headers: JSON_TYPE, status: 202, rejected: ["unknown_field"] },
    { name: "coldstart_ms on a resource sample", json: (f) => batch(f, [resource(f, { coldstart_ms: 10 })]), status: 202, rejected: ["unknown_field"] },
    { name: "an unknown type", json: (f) => batch(f, [run(f, { type: "metric" })]), status: 202, rejected: ["unknown_type"] },
    { name: "no type", json: (f) => batch(f, [run(f, { type: undefined })]), status: 202, rejected: ["missing_field"] },
    { name: "no execution_ms", json: (f) => batch(f, [run(f, { execution_ms: undefined })]), status: 202, rejected: ["missing_field"] },
    { name: "a null sample", json: (f) => batch(f, [null]), status: 202, rejected: ["invalid_sample"] },
    { name: "a sample of 100,000 nested arrays", raw: (f) => batchText(f, nestedArrays(100_000)), headers: JSON_TYPE, status: 202, rejected: ["invalid_sample"] },
    { name: "a field of 100,000 nested objects", raw: (f) => batchText(f, JSON.stringify(run(f)).replace('"execution_ms":10', `"execution_ms":${nestedObjects(100_000)}`)), headers: JSON_TYPE, status: 202, rejected: ["invalid_field"] },
    {
      name: "duplicate keys in a sample, the last invalid (JSON.parse keeps the last)",
      raw: (f) => batchText(f, JSON.stringify(run(f)).replace("}", ',"execution_ms":"fast"}')),
      headers: JSON_TYPE,
      status: 202,
      rejected: ["invalid_field"],
    },
    {
      name: "a batch where every sample is wrong in a different way",
      json: (f) => batch(f, [run(f, { success: 1 }), resource(f, { gpu_count: -1 }), "x", run(f, { time: Date.now() + 3600_000 }), run(f, { extra: 1 })]),
      status: 202,
      rejected: ["invalid_field", "invalid_field", "invalid_sample", "time_out_of_range", "unknown_field"],
    },
  ] satisfies Omit<Case, "method" | "path">[]
).map((c) => ({ ...c, name: `samples: ${c.name}`, method: "POST", path: () => "/v1/samples", token: (f: Fixture) => f.ingest }));

function corruptTrailer(gz: Uint8Array): Uint8Array {
  const out = gz.slice();
  out[out.length - 8] = out[out.length - 8]! ^ 0xff; // CRC-32 (RFC 1952 §2.2)
  return out;
}

const adminCases: Case[] = [
  // POST /v1/projects
  { name: "create project: malformed JSON", method: "POST", path: () => "/v1/projects", raw: () => '{"name":', headers: JSON_TYPE, status: 400, code: "invalid_json" },
  { name: "create project: truncated JSON", method: "POST", path: () => "/v1/projects", raw: () => '{"project_id":"p-abcd1234"', headers: JSON_TYPE, status: 400, code: "invalid_json" },
  { name: "create project: NaN as raw text", method: "POST", path: () => "/v1/projects", raw: () => '{"name":NaN}', headers: JSON_TYPE, status: 400, code: "invalid_json" },
  { name: "create project: Content-Type text/plain", method: "POST", path: () => "/v1/projects", raw: () => '{"name":"x"}', headers: { "content-type": "text/plain" }, status: 415, code: "unsupported_media_type" },
  { name: "create project: no Content-Type", method: "POST", path: () => "/v1/projects", raw: () => utf8.encode('{"name":"x"}'), status: 415, code: "unsupported_media_type" },
  { name: "create project: Content-Encoding gzip", method: "POST", path: () => "/v1/projects", raw: () => gzip('{"name":"x"}'), headers: GZIP_JSON, status: 415, code: "unsupported_media_type" },
  { name: "create project: Content-Encoding gzip on plain JSON", method: "POST", path: () => "/v1/projects", raw: () => '{"name":"x"}', headers: GZIP_JSON, status: 415, code: "unsupported_media_type" },
  { name: "create project: a body over 32 KiB", method: "POST", path: () => "/v1/projects", json: () => ({ name: "x".repeat(33 * KIB) }), status: 413, code: "payload_too_large" },
  { name: "create project: 100,000 nested arrays (over 32 KiB)", method: "POST", path: () => "/v1/projects", raw: () => nestedArrays(100_000), headers: JSON_TYPE, status: 413, code: "payload_too_large" },
  { name: "create project: 16,000 nested arrays", method: "POST", path: () => "/v1/projects", raw: () => nestedArrays(16_000), headers: JSON_TYPE, status: 400, code: "invalid_request" },
  { name: "create project: name of 5,000 nested objects", method: "POST", path: () => "/v1/projects", raw: () => `{"name":${nestedObjects(5_000)}}`, headers: JSON_TYPE, status: 400, code: "invalid_request" },
  { name: "create project: a JSON array", method: "POST", path: () => "/v1/projects", json: () => [{ name: "x" }], status: 400, code: "invalid_request" },
  { name: "create project: JSON null", method: "POST", path: () => "/v1/projects", raw: () => "null", headers: JSON_TYPE, status: 400, code: "invalid_request" },
  { name: "create project: JSON false", method: "POST", path: () => "/v1/projects", raw: () => "false", headers: JSON_TYPE, status: 400, code: "invalid_request" },
  { name: "create project: upper-case project_id", method: "POST", path: () => "/v1/projects", json: () => ({ project_id: "p-ABCD1234" }), status: 400, code: "invalid_request", message: /project_id/ },
  { name: "create project: non-ASCII project_id", method: "POST", path: () => "/v1/projects", json: () => ({ project_id: "p-abcdé123" }), status: 400, code: "invalid_request", message: /project_id/ },
  { name: "create project: overlong project_id", method: "POST", path: () => "/v1/projects", json: () => ({ project_id: "p-" + "a".repeat(33) }), status: 400, code: "invalid_request", message: /project_id/ },
  { name: "create project: project_id with NUL", method: "POST", path: () => "/v1/projects", json: () => ({ project_id: "p-abcd\u0000" }), status: 400, code: "invalid_request", message: /project_id/ },
  { name: "create project: project_id as a number", method: "POST", path: () => "/v1/projects", json: () => ({ project_id: 12345678 }), status: 400, code: "invalid_request", message: /project_id/ },
  { name: "create project: 201-character name", method: "POST", path: () => "/v1/projects", json: () => ({ name: "n".repeat(201) }), status: 400, code: "invalid_request", message: /name/ },
  { name: "create project: 201-character non-ASCII name", method: "POST", path: () => "/v1/projects", json: () => ({ name: "ü".repeat(201) }), status: 400, code: "invalid_request", message: /name/ },
  { name: "create project: blank name", method: "POST", path: () => "/v1/projects", json: () => ({ name: "   " }), status: 400, code: "invalid_request", message: /name/ },
  { name: "create project: name 1e309", method: "POST", path: () => "/v1/projects", raw: () => '{"name":1e309}', headers: JSON_TYPE, status: 400, code: "invalid_request", message: /name/ },
  { name: "create project: an unknown field", method: "POST", path: () => "/v1/projects", json: () => ({ name: "x", owner: "me" }), status: 400, code: "invalid_request", message: /owner/ },
  { name: "create project: an existing project_id", method: "POST", path: () => "/v1/projects", json: (f) => ({ project_id: f.pA }), status: 409, code: "project_exists" },
  { name: "create project: duplicate project_id keys, the last invalid", method: "POST", path: () => "/v1/projects", raw: () => '{"project_id":"p-dupfirst1","project_id":"P-BAD"}', headers: JSON_TYPE, status: 400, code: "invalid_request" },

  // POST /v1/projects/:id/keys
  { name: "project key: malformed project id in the path", method: "POST", path: () => "/v1/projects/P-UPPER/keys", json: () => ({}), status: 404, code: "project_not_found" },
  { name: "project key: project id with an encoded NUL", method: "POST", path: (f) => `/v1/projects/${f.pA}%00/keys`, json: () => ({}), status: 404, code: "project_not_found" },
  { name: "project key: a project that does not exist", method: "POST", path: () => "/v1/projects/p-nosuchproject/keys", json: () => ({}), status: 404, code: "project_not_found" },
  { name: "project key: 201-character name", method: "POST", path: (f) => `/v1/projects/${f.pA}/keys`, json: () => ({ name: "k".repeat(201) }), status: 400, code: "invalid_request", message: /name/ },
  { name: "project key: name as a number", method: "POST", path: (f) => `/v1/projects/${f.pA}/keys`, json: () => ({ name: 7 }), status: 400, code: "invalid_request", message: /name/ },
  { name: "project key: an unknown field", method: "POST", path: (f) => `/v1/projects/${f.pA}/keys`, json: () => ({ scope: "admin" }), status: 400, code: "invalid_request", message: /scope/ },
  { name: "project key: Content-Type text/plain", method: "POST", path: (f) => `/v1/projects/${f.pA}/keys`, raw: () => "{}", headers: { "content-type": "text/plain" }, status: 415, code: "unsupported_media_type" },
  { name: "project key: Content-Encoding gzip", method: "POST", path: (f) => `/v1/projects/${f.pA}/keys`, raw: () => gzip("{}"), headers: GZIP_JSON, status: 415, code: "unsupported_media_type" },
  { name: "project key: a JSON array", method: "POST", path: (f) => `/v1/projects/${f.pA}/keys`, json: () => [], status: 400, code: "invalid_request" },
  { name: "project key: JSON null", method: "POST", path: (f) => `/v1/projects/${f.pA}/keys`, raw: () => "null", headers: JSON_TYPE, status: 400, code: "invalid_request" },

  // POST /v1/ingest-keys
  { name: "ingest key: empty body", method: "POST", path: () => "/v1/ingest-keys", raw: () => "", headers: JSON_TYPE, status: 400, code: "invalid_json" },
  { name: "ingest key: malformed JSON", method: "POST", path: () => "/v1/ingest-keys", raw: () => '{"host_id" "h"}', headers: JSON_TYPE, status: 400, code: "invalid_json" },
  { name: "ingest key: no host_id", method: "POST", path: () => "/v1/ingest-keys", json: () => ({}), status: 400, code: "invalid_request", message: /host_id/ },
  { name: "ingest key: host_id with a space", method: "POST", path: () => "/v1/ingest-keys", json: () => ({ host_id: "gpu host" }), status: 400, code: "invalid_request", message: /host_id/ },
  { name: "ingest key: 129-character host_id", method: "POST", path: () => "/v1/ingest-keys", json: () => ({ host_id: "h".repeat(129) }), status: 400, code: "invalid_request", message: /host_id/ },
  { name: "ingest key: non-ASCII host_id", method: "POST", path: () => "/v1/ingest-keys", json: () => ({ host_id: "gpu-hôst" }), status: 400, code: "invalid_request", message: /host_id/ },
  { name: "ingest key: host_id with CR/LF", method: "POST", path: () => "/v1/ingest-keys", json: () => ({ host_id: "gpu\r\nhost" }), status: 400, code: "invalid_request", message: /host_id/ },
  { name: "ingest key: host_id with NUL", method: "POST", path: () => "/v1/ingest-keys", json: () => ({ host_id: "gpu\u0000" }), status: 400, code: "invalid_request", message: /host_id/ },
  { name: "ingest key: host_id as a number", method: "POST", path: () => "/v1/ingest-keys", json: () => ({ host_id: 17 }), status: 400, code: "invalid_request", message: /host_id/ },
  { name: "ingest key: host_id of 10,000 nested arrays", method: "POST", path: () => "/v1/ingest-keys", raw: () => `{"host_id":${nestedArrays(10_000)}}`, headers: JSON_TYPE, status: 400, code: "invalid_request", message: /host_id/ },
  { name: "ingest key: an unknown field", method: "POST", path: () => "/v1/ingest-keys", json: () => ({ host_id: "h", project_id: "p-abcd1234" }), status: 400, code: "invalid_request", message: /project_id/ },
  { name: "ingest key: a body over 32 KiB", method: "POST", path: () => "/v1/ingest-keys", json: () => ({ host_id: "h", name: "n".repeat(33 * KIB) }), status: 413, code: "payload_too_large" },

  // DELETE /v1/keys/:id
  { name: "revoke: a malformed key id", method: "DELETE", path: () => "/v1/keys/key_XYZ", status: 404, code: "key_not_found" },
  { name: "revoke: an unknown key id", method: "DELETE", path: () => "/v1/keys/key_0000000000000000", status: 404, code: "key_not_found" },
  { name: "revoke: a key id in upper case", method: "DELETE", path: (f) => `/v1/keys/${f.revokedKeyId.toUpperCase()}`, status: 404, code: "key_not_found" },
  { name: "revoke: a key given by its secret instead of its id", method: "DELETE", path: (f) => `/v1/keys/${f.ingest}`, status: 404, code: "key_not_found" },
  { name: "revoke: an already revoked key is a no-op (revoked_at kept)", method: "DELETE", path: (f) => `/v1/keys/${f.revokedKeyId}`, status: 204 },

  // stats, unknown routes
  { name: "stats: a project that does not exist", method: "GET", path: () => "/v1/projects/p-nosuchproject/stats", status: 404, code: "project_not_found" },
  { name: "stats: a malformed project id", method: "GET", path: () => "/v1/projects/..%2F..%2Fetc/stats", status: 404, code: "project_not_found" },
  { name: "GET /v1/samples", method: "GET", path: () => "/v1/samples", token: (f) => f.ingest, status: 404, code: "not_found" },
  { name: "an unknown export action", method: "POST", path: (f) => `${exp(f)}/restart`, status: 404, code: "not_found" },
];

const HEADER = (name: string, value?: string) => (value === undefined ? { name } : { name, value });
const putWith = (over: Record<string, unknown>) => () => ({ endpoint: HTTP_ENDPOINT, ...over });

const RESERVED_NAMES = [
  "host", "Host", "HOST",
  "content-length", "Content-Length",
  "content-type", "Content-Type", "CONTENT-TYPE",
  "content-encoding", "Content-Encoding",
  "transfer-encoding", "Transfer-Encoding", "TRANSFER-ENCODING",
  "connection", "Connection",
  "te", "TE", "Te",
  "upgrade", "Upgrade", "UPGRADE",
  "keep-alive", "Keep-Alive", "proxy-connection", "Trailer", "Expect", "HTTP2-Settings",
];

/** PUT …/metrics-export on the configured project with its own project key. */
const putCases: Case[] = (
  [
    { name: "empty body", raw: () => "", headers: JSON_TYPE, status: 400, code: "invalid_json" },
    { name: "malformed JSON", raw: () => '{"endpoint":"https://x.example"', headers: JSON_TYPE, status: 400, code: "invalid_json" },
    { name: "Infinity in histogram bounds as raw text", raw: () => `{"endpoint":"${HTTP_ENDPOINT}","histogram_bounds_ms":[1,Infinity]}`, headers: JSON_TYPE, status: 400, code: "invalid_json" },
    { name: "Content-Type text/plain", raw: () => JSON.stringify({ endpoint: HTTP_ENDPOINT }), headers: { "content-type": "text/plain" }, status: 415, code: "unsupported_media_type" },
    { name: "no Content-Type", raw: () => utf8.encode(JSON.stringify({ endpoint: HTTP_ENDPOINT })), status: 415, code: "unsupported_media_type" },
    { name: "Content-Encoding gzip", raw: () => gzip(JSON.stringify({ endpoint: HTTP_ENDPOINT })), headers: GZIP_JSON, status: 415, code: "unsupported_media_type" },
    { name: "a body over 32 KiB", json: putWith({ headers: [HEADER("X-Big", "v".repeat(4000))], pad: "x".repeat(32 * KIB) }), status: 413, code: "payload_too_large" },
    { name: "a JSON array", json: () => [{ endpoint: HTTP_ENDPOINT }], status: 400, code: "invalid_request" },
    { name: "JSON null", raw: () => "null", headers: JSON_TYPE, status: 400, code: "invalid_request" },
    { name: "no endpoint", json: () => ({ headers: [] }), status: 400, code: "invalid_request", message: /endpoint/ },
    { name: "endpoint as a number", json: () => ({ endpoint: 4318 }), status: 400, code: "invalid_request", message: /endpoint/ },
    { name: "endpoint with user and password", json: () => ({ endpoint: "https://user:pass@otlp.example.com/otlp" }), status: 400, code: "invalid_request", message: /user info/ },
    { name: "endpoint with a user only", json: () => ({ endpoint: "https://token@otlp.example.com/otlp" }), status: 400, code: "invalid_request", message: /user info/ },
    { name: "endpoint with a fragment", json: () => ({ endpoint: "https://otlp.example.com/otlp#section" }), status: 400, code: "invalid_request", message: /fragment/ },
    { name: "endpoint with an empty fragment", json: () => ({ endpoint: "https://otlp.example.com/otlp#" }), status: 400, code: "invalid_request", message: /fragment/ },
    { name: "file: endpoint", json: () => ({ endpoint: "file:///etc/passwd" }), status: 400, code: "invalid_request", message: /file/ },
    { name: "javascript: endpoint", json: () => ({ endpoint: "javascript:alert(1)" }), status: 400, code: "invalid_request", message: /javascript/ },
    { name: "ftp: endpoint", json: () => ({ endpoint: "ftp://otlp.example.com/otlp" }), status: 400, code: "invalid_request", message: /ftp/ },
    { name: "data: endpoint", json: () => ({ endpoint: "data:text/plain;base64,SGVsbG8=" }), status: 400, code: "invalid_request", message: /data/ },
    { name: "ws: endpoint", json: () => ({ endpoint: "ws://otlp.example.com/otlp" }), status: 400, code: "invalid_request", message: /ws/ },
    { name: "a relative endpoint", json: () => ({ endpoint: "/v1/metrics" }), status: 400, code: "invalid_request", message: /endpoint/ },
    { name: "an endpoint without a scheme", json: () => ({ endpoint: "otlp.example.com/otlp" }), status: 400, code: "invalid_request", message: /endpoint/ },
    { name: "an endpoint of 2,049 characters", json: () => ({ endpoint: `https://otlp.example.com/${"a".repeat(2049 - 25)}` }), status: 400, code: "invalid_request", message: /2048/ },
    { name: "an endpoint of 20,000 characters", json: () => ({ endpoint: `https://otlp.example.com/${"a".repeat(20_000)}` }), status: 400, code: "invalid_request", message: /2048/ },
    { name: "an endpoint with CR/LF", json: () => ({ endpoint: "https://otlp.example.com/otlp\r\nHost: evil.example" }), status: 400, code: "invalid_request", message: /control/ },
    { name: "an endpoint with NUL", json: () => ({ endpoint: "https://otlp.example.com/\u0000otlp" }), status: 400, code: "invalid_request", message: /control/ },
    { name: "an endpoint with a space", json: () => ({ endpoint: "https://otlp.example.com/ot lp" }), status: 400, code: "invalid_request", message: /spaces/ },
    { name: "duplicate endpoint keys, the last invalid", raw: () => `{"endpoint":"${HTTP_ENDPOINT}","endpoint":"file:///etc/passwd"}`, headers: JSON_TYPE, status: 400, code: "invalid_request", message: /file/ },
    { name: "headers as an object", json: putWith({ headers: { Authorization: "Bearer x" } }), status: 400, code: "invalid_request", message: /headers/ },
    { name: "17 headers", json: putWith({ headers: Array.from({ length: 17 }, (_, i) => HEADER(`X-H${i}`, "v")) }), status: 400, code: "invalid_request", message: /headers/ },
    { name: "headers of 10,000 nested arrays", raw: () => `{"endpoint":"${HTTP_ENDPOINT}","headers":${nestedArrays(10_000)}}`, headers: JSON_TYPE, status: 400, code: "invalid_request", message: /headers/ },
    { name: "an empty header name", json: putWith({ headers: [HEADER("", "v")] }), status: 400, code: "invalid_request", message: /headers\[0\]\.name/ },
    { name: "a header name with a space", json: putWith({ headers: [HEADER("X Api Key", "v")] }), status: 400, code: "invalid_request", message: /headers\[0\]\.name/ },
    { name: "a header name with CR/LF", json: putWith({ headers: [HEADER("X-A\r\nX-Injected", "v")] }), status: 400, code: "invalid_request", message: /headers\[0\]\.name/ },
    { name: "a header name with LF", json: putWith({ headers: [HEADER("X-A\nB", "v")] }), status: 400, code: "invalid_request", message: /headers\[0\]\.name/ },
    { name: "a header name with NUL", json: putWith({ headers: [HEADER("X-A\u0000", "v")] }), status: 400, code: "invalid_request", message: /headers\[0\]\.name/ },
    { name: "a header name with a colon", json: putWith({ headers: [HEADER("X-A:", "v")] }), status: 400, code: "invalid_request", message: /headers\[0\]\.name/ },
    { name: "a 129-character header name", json: putWith({ headers: [HEADER("X".repeat(129), "v")] }), status: 400, code: "invalid_request", message: /headers\[0\]\.name/ },
    { name: "a non-ASCII header name", json: putWith({ headers: [HEADER("X-Tökén", "v")] }), status: 400, code: "invalid_request", message: /headers\[0\]\.name/ },
    { name: "a header name as a number", json: putWith({ headers: [{ name: 1, value: "v" }] }), status: 400, code: "invalid_request", message: /headers\[0\]\.name/ },
    { name: "a header value with CR", json: putWith({ headers: [HEADER("X-A", "a\rb")] }), status: 400, code: "invalid_request", message: /headers\[0\]\.value/ },
    { name: "a header value with LF", json: putWith({ headers: [HEADER("X-A", "a\nb")] }), status: 400, code: "invalid_request", message: /headers\[0\]\.value/ },
    { name: "a header value smuggling a second header", json: putWith({ headers: [HEADER("X-A", "a\r\nHost: evil.example")] }), status: 400, code: "invalid_request", message: /headers\[0\]\.value/ },
    { name: "a header value with NUL", json: putWith({ headers: [HEADER("X-A", "a\u0000b")] }), status: 400, code: "invalid_request", message: /headers\[0\]\.value/ },
    { name: "a header value with DEL", json: putWith({ headers: [HEADER("X-A", "a\u007fb")] }), status: 400, code: "invalid_request", message: /headers\[0\]\.value/ },
    { name: "a non-ASCII header value", json: putWith({ headers: [HEADER("X-A", "clé-secrète")] }), status: 400, code: "invalid_request", message: /headers\[0\]\.value/ },
    { name: "a 4,097-character header value", json: putWith({ headers: [HEADER("X-A", "v".repeat(4097))] }), status: 400, code: "invalid_request", message: /headers\[0\]\.value/ },
    { name: "an empty header value", json: putWith({ headers: [HEADER("X-A", "")] }), status: 400, code: "invalid_request", message: /headers\[0\]\.value/ },
    { name: "a blank header value", json: putWith({ headers: [HEADER("X-A", "  \t ")] }), status: 400, code: "invalid_request", message: /headers\[0\]\.value/ },
    { name: "a header value as a number", json: putWith({ headers: [{ name: "X-A", value: 12345 }] }), status: 400, code: "invalid_request", message: /headers\[0\]\.value/ },
    { name: "a header value of null", json: putWith({ headers: [{ name: "X-A", value: null }] }), status: 400, code: "invalid_request", message: /headers\[0\]\.value/ },
    { name: "the same header twice in different case", json: putWith({ headers: [HEADER("X-Api-Key", "a"), HEADER("x-api-key", "b")] }), status: 400, code: "invalid_request", message: /twice/ },
    { name: "an unknown field in a header", json: putWith({ headers: [{ name: "X-A", value: "v", sensitive: true }] }), status: 400, code: "invalid_request", message: /sensitive/ },
    { name: "a header without value when none is stored under that name", json: putWith({ headers: [HEADER("X-Never-Stored")] }), status: 400, code: "invalid_request", message: /X-Never-Stored/ },
    ...RESERVED_NAMES.map((name) => ({
      name: `reserved header name "${name}"`,
      json: putWith({ headers: [HEADER(name, "x")] }),
      status: 400,
      code: "invalid_request" as const,
      message: /set by the exporter/,
    })),
    { name: "an unknown destination", json: putWith({ destination: "splunk" }), status: 400, code: "invalid_request", message: /destination/ },
    { name: "protocol grpc", json: putWith({ protocol: "grpc" }), status: 400, code: "invalid_request", message: /protocol/ },
    { name: "compression br", json: putWith({ compression: "br" }), status: 400, code: "invalid_request", message: /compression/ },
    { name: "temporality in upper case", json: putWith({ temporality: "DELTA" }), status: 400, code: "invalid_request", message: /temporality/ },
    { name: 'enabled as the string "true"', json: putWith({ enabled: "true" }), status: 400, code: "invalid_request", message: /enabled/ },
    { name: "enabled as 1", json: putWith({ enabled: 1 }), status: 400, code: "invalid_request", message: /enabled/ },
    { name: "no histogram bounds", json: putWith({ histogram_bounds_ms: [] }), status: 400, code: "invalid_request", message: /histogram_bounds_ms/ },
    { name: "equal histogram bounds", json: putWith({ histogram_bounds_ms: [5, 5] }), status: 400, code: "invalid_request", message: /histogram_bounds_ms\[1\]/ },
    { name: "decreasing histogram bounds", json: putWith({ histogram_bounds_ms: [10, 5] }), status: 400, code: "invalid_request", message: /histogram_bounds_ms\[1\]/ },
    { name: "a zero histogram bound", json: putWith({ histogram_bounds_ms: [0, 5] }), status: 400, code: "invalid_request", message: /histogram_bounds_ms\[0\]/ },
    { name: "a negative histogram bound", json: putWith({ histogram_bounds_ms: [-1, 5] }), status: 400, code: "invalid_request", message: /histogram_bounds_ms\[0\]/ },
    { name: "histogram bounds as strings", json: putWith({ histogram_bounds_ms: ["5", "10"] }), status: 400, code: "invalid_request", message: /histogram_bounds_ms/ },
    { name: "65 histogram bounds", json: putWith({ histogram_bounds_ms: Array.from({ length: 65 }, (_, i) => i + 1) }), status: 400, code: "invalid_request", message: /histogram_bounds_ms/ },
    { name: "a histogram bound of 1e309", raw: () => `{"endpoint":"${HTTP_ENDPOINT}","histogram_bounds_ms":[5,1e309]}`, headers: JSON_TYPE, status: 400, code: "invalid_request", message: /histogram_bounds_ms\[1\]/ },
    { name: "an unknown field", json: putWith({ interval_seconds: 10 }), status: 400, code: "invalid_request", message: /interval_seconds/ },
  ] satisfies Omit<Case, "method" | "path">[]
).map((c) => ({ ...c, name: `PUT export: ${c.name}`, method: "PUT", path: exp, token: (f: Fixture) => f.keyA }));

const otherExportCases: Case[] = [
  // PATCH
  { name: "PATCH export: an empty object", method: "PATCH", path: exp, json: () => ({}), status: 400, code: "invalid_request", message: /at least one field/ },
  { name: "PATCH export: a javascript: endpoint", method: "PATCH", path: exp, json: () => ({ endpoint: "javascript:fetch('//evil')" }), status: 400, code: "invalid_request", message: /javascript/ },
  { name: "PATCH export: enabled null", method: "PATCH", path: exp, json: () => ({ enabled: null }), status: 400, code: "invalid_request", message: /enabled/ },
  { name: 'PATCH export: histogram bounds "default"', method: "PATCH", path: exp, json: () => ({ histogram_bounds_ms: "default" }), status: 400, code: "invalid_request", message: /histogram_bounds_ms/ },
  { name: "PATCH export: a reserved header", method: "PATCH", path: exp, json: () => ({ headers: [HEADER("Transfer-Encoding", "chunked")] }), status: 400, code: "invalid_request", message: /set by the exporter/ },
  { name: "PATCH export: an unknown field", method: "PATCH", path: exp, json: () => ({ enabled: true, paused: false }), status: 400, code: "invalid_request", message: /paused/ },
  { name: "PATCH export: Content-Encoding gzip", method: "PATCH", path: exp, raw: () => gzip('{"enabled":true}'), headers: GZIP_JSON, status: 415, code: "unsupported_media_type" },
  { name: "PATCH export: a project without export", method: "PATCH", path: expB, json: () => ({ enabled: true }), status: 409, code: "export_not_configured" },
  // GET / DELETE
  { name: "GET export: a project that does not exist", method: "GET", path: () => "/v1/projects/p-nosuchproject/metrics-export", status: 404, code: "project_not_found" },
  { name: "GET export: a malformed project id", method: "GET", path: () => "/v1/projects/p-Ab/metrics-export", status: 404, code: "project_not_found" },
  { name: "DELETE export: a project that does not exist", method: "DELETE", path: () => "/v1/projects/p-nosuchproject/metrics-export", status: 404, code: "project_not_found" },
  // resume
  { name: "resume: a project without export", method: "POST", path: (f) => `${expB(f)}/resume`, status: 409, code: "export_not_configured" },
  { name: "resume: malformed JSON", method: "POST", path: (f) => `${exp(f)}/resume`, raw: () => "{", headers: JSON_TYPE, status: 400, code: "invalid_json" },
  { name: "resume: Content-Type text/plain", method: "POST", path: (f) => `${exp(f)}/resume`, raw: () => "{}", headers: { "content-type": "text/plain" }, status: 415, code: "unsupported_media_type" },
  { name: "resume: Content-Encoding gzip", method: "POST", path: (f) => `${exp(f)}/resume`, raw: () => gzip("{}"), headers: GZIP_JSON, status: 415, code: "unsupported_media_type" },
  { name: "resume: a body over 32 KiB", method: "POST", path: (f) => `${exp(f)}/resume`, json: () => ({ x: "x".repeat(33 * KIB) }), status: 413, code: "payload_too_large" },
  // README "API": "unknown fields are rejected" on configuration routes; resume takes no fields.
  { name: "resume: an unknown field", method: "POST", path: (f) => `${expB(f)}/resume`, json: () => ({ force: true }), status: 400, code: "invalid_request", message: /force/ },
  // test
  { name: "test: no endpoint given and none configured", method: "POST", path: (f) => `${expB(f)}/test`, status: 400, code: "invalid_request", message: /endpoint/ },
  { name: "test: a file: endpoint", method: "POST", path: (f) => `${exp(f)}/test`, json: () => ({ endpoint: "file:///etc/shadow" }), status: 400, code: "invalid_request", message: /file/ },
  { name: "test: an endpoint with user info", method: "POST", path: (f) => `${exp(f)}/test`, json: () => ({ endpoint: "https://a:b@otlp.example.com" }), status: 400, code: "invalid_request", message: /user info/ },
  { name: "test: a header without value, none stored", method: "POST", path: (f) => `${expB(f)}/test`, json: () => ({ endpoint: HTTP_ENDPOINT, headers: [HEADER("DD-API-KEY")] }), status: 400, code: "invalid_request", message: /DD-API-KEY/ },
  { name: "test: a reserved header", method: "POST", path: (f) => `${exp(f)}/test`, json: () => ({ headers: [HEADER("Content-Length", "0")] }), status: 400, code: "invalid_request", message: /set by the exporter/ },
  { name: "test: a header value with CR/LF", method: "POST", path: (f) => `${exp(f)}/test`, json: () => ({ headers: [HEADER("X-A", "a\r\nb")] }), status: 400, code: "invalid_request", message: /headers\[0\]\.value/ },
  { name: "test: a field it does not take (temporality)", method: "POST", path: (f) => `${exp(f)}/test`, json: () => ({ temporality: "delta" }), status: 400, code: "invalid_request", message: /temporality/ },
  { name: "test: JSON null (only an absent body means the saved settings)", method: "POST", path: (f) => `${exp(f)}/test`, token: (f) => f.keyA, raw: () => "null", headers: JSON_TYPE, status: 400, code: "invalid_request" },
  { name: "test: malformed JSON", method: "POST", path: (f) => `${exp(f)}/test`, raw: () => '{"endpoint":}', headers: JSON_TYPE, status: 400, code: "invalid_json" },
  { name: "test: Content-Encoding gzip", method: "POST", path: (f) => `${exp(f)}/test`, raw: () => gzip("{}"), headers: GZIP_JSON, status: 415, code: "unsupported_media_type" },
  // flush
  { name: "flush: a project without export", method: "POST", path: (f) => `${expB(f)}/flush`, status: 409, code: "export_not_configured" },
  { name: "flush: a disabled export", method: "POST", path: (f) => `${exp(f)}/flush`, status: 409, code: "export_not_enabled" },
  { name: "flush: malformed JSON", method: "POST", path: (f) => `${exp(f)}/flush`, raw: () => "[", headers: JSON_TYPE, status: 400, code: "invalid_json" },
  { name: "flush: Content-Type text/plain", method: "POST", path: (f) => `${exp(f)}/flush`, raw: () => "now", headers: { "content-type": "text/plain" }, status: 415, code: "unsupported_media_type" },
  { name: "flush: an unknown field", method: "POST", path: (f) => `${expB(f)}/flush`, json: () => ({ force: true }), status: 400, code: "invalid_request", message: /force/ },
  // preview
  { name: "preview: a project that does not exist", method: "GET", path: () => "/v1/projects/p-nosuchproject/metrics-export/preview", status: 404, code: "project_not_found" },
  { name: "preview: ingest key", method: "GET", path: (f) => `${exp(f)}/preview`, token: (f) => f.ingest, status: 403, code: "forbidden" },
  { name: "preview: limit 0", method: "GET", path: (f) => `${exp(f)}/preview?limit=0`, status: 400, code: "invalid_request", message: /limit/ },
  { name: "preview: limit over 100", method: "GET", path: (f) => `${exp(f)}/preview?limit=1000000`, status: 400, code: "invalid_request", message: /limit/ },
  { name: "preview: limit not a number", method: "GET", path: (f) => `${exp(f)}/preview?limit=all`, status: 400, code: "invalid_request", message: /limit/ },
];

/** Private destinations, refused in production (the worker with ALLOW_PRIVATE_ENDPOINTS="false"). */
const PRIVATE_ENDPOINTS = [
  "http://127.0.0.1:4318",
  "http://127.8.9.10/otlp",
  "http://localhost:4318",
  "http://LOCALHOST./otlp",
  "http://collector.localhost",
  "http://[::1]:4318",
  "http://[0:0:0:0:0:0:0:1]/",
  "http://[::ffff:127.0.0.1]/",
  "http://10.1.2.3:4318",
  "http://172.16.0.1",
  "http://192.168.1.10",
  "http://100.64.0.1",
  "http://169.254.169.254/latest/meta-data/",
  "http://[::ffff:169.254.169.254]/",
  "http://[fd00:ec2::254]/",
  "http://[fe80::1]/",
  "http://0.0.0.0:4318",
  "http://2130706433/",
  "http://0x7f000001/",
  "http://0177.0.0.1/",
  "http://2852039166/",
  "http://0xa9fea9fe/",
  "http://%31%32%37.0.0.1/",
  "http://[2002:a9fe:a9fe::]/",
  // The rest of the special-purpose registries (src/validation/special-addresses.ts).
  "http://[fec0::1]/",
  "http://[::ffff:0:7f00:1]/",
  "http://[2001::1]/",
  "http://[100::1]/",
  "http://198.51.100.10/",
  "http://203.0.113.10/",
  "http://192.88.99.1/",
  "http://localhost../",
];

const productionCases: Case[] = PRIVATE_ENDPOINTS.flatMap((endpoint, i): Case[] => {
  const route = i % 3;
  const common = { production: true as const, status: 400, code: "invalid_request" as const, message: /loopback, private or other special-purpose address/ };
  if (route === 0) return [{ name: `production PUT export: ${endpoint}`, method: "PUT", path: exp, token: (f) => f.keyA, json: () => ({ endpoint }), ...common }];
  if (route === 1) return [{ name: `production PATCH export: ${endpoint}`, method: "PATCH", path: exp, token: (f) => f.keyA, json: () => ({ endpoint }), ...common }];
  return [{ name: `production test: ${endpoint}`, method: "POST", path: (f) => `${exp(f)}/test`, token: (f) => f.keyA, json: () => ({ endpoint }), ...common }];
});

// --- notification webhooks and the audit log (issue 14) ---------------------------------------------

const ntf = (f: Fixture) => `/v1/projects/${f.pA}/notifications`;
const ntfOne = (f: Fixture) => `${ntf(f)}/${f.notificationId}`;
const HOOK = "https://hooks.example.com/services/T0/B0/bad-input";
const hookWith = (over: Record<string, unknown>) => () => ({ url: HOOK, format: "json", ...over });

/** POST …/notifications on pA (which has its 3 webhooks already) with its own project key. */
const notificationCreateCases: Case[] = (
  [
    { name: "a valid body when the project has 3 already", json: hookWith({}), status: 409, code: "notification_limit_reached" },
    { name: "empty body", raw: () => "", headers: JSON_TYPE, status: 400, code: "invalid_json" },
    { name: "malformed JSON", raw: () => '{"url":', headers: JSON_TYPE, status: 400, code: "invalid_json" },
    { name: "Content-Type text/plain", raw: () => JSON.stringify(hookWith({})()), headers: { "content-type": "text/plain" }, status: 415, code: "unsupported_media_type" },
    { name: "Content-Encoding gzip", raw: () => gzip(JSON.stringify(hookWith({})())), headers: GZIP_JSON, status: 415, code: "unsupported_media_type" },
    { name: "a body over 32 KiB", json: hookWith({ name: "n".repeat(33 * KIB) }), status: 413, code: "payload_too_large" },
    { name: "a JSON array", json: () => [hookWith({})()], status: 400, code: "invalid_request" },
    { name: "JSON null", raw: () => "null", headers: JSON_TYPE, status: 400, code: "invalid_request" },
    { name: "no url", json: () => ({ format: "json" }), status: 400, code: "invalid_request", message: /^url: / },
    { name: "url with user info", json: hookWith({ url: "https://user:pass@hooks.example.com/x" }), status: 400, code: "invalid_request", message: /^url: must not contain user info/ },
    { name: "url with a fragment", json: hookWith({ url: `${HOOK}#x` }), status: 400, code: "invalid_request", message: /^url: must not contain a fragment/ },
    { name: "url of 2,049 characters", json: hookWith({ url: `https://hooks.example.com/${"a".repeat(2049 - 26)}` }), status: 400, code: "invalid_request", message: /^url: must be at most 2048/ },
    { name: "a file: url", json: hookWith({ url: "file:///etc/passwd" }), status: 400, code: "invalid_request", message: /^url: must use http or https/ },
    { name: "url with CR/LF", json: hookWith({ url: `${HOOK}\r\nX-Injected: 1` }), status: 400, code: "invalid_request", message: /^url: must not contain spaces or control/ },
    { name: "format teams", json: hookWith({ format: "teams" }), status: 400, code: "invalid_request", message: /^format: / },
    { name: "no events", json: hookWith({ events: [] }), status: 400, code: "invalid_request", message: /^events: / },
    { name: "an unknown event", json: hookWith({ events: ["export.exploded"] }), status: 400, code: "invalid_request", message: /^events\[0\]: / },
    { name: "an event listed twice", json: hookWith({ events: ["export.paused", "export.paused"] }), status: 400, code: "invalid_request", message: /^events\[1\]: / },
    { name: "a negative quiet period", json: hookWith({ quiet_period_seconds: -5 }), status: 400, code: "invalid_request", message: /^quiet_period_seconds: / },
    { name: "a quiet period of 1e309", raw: () => `{"url":"${HOOK}","format":"json","quiet_period_seconds":1e309}`, headers: JSON_TYPE, status: 400, code: "invalid_request", message: /^quiet_period_seconds: / },
    { name: "a name with NUL", json: hookWith({ name: "a\u0000b" }), status: 400, code: "invalid_request", message: /^name: / },
    { name: "an unknown field", json: hookWith({ secret: "whsec_chosen" }), status: 400, code: "invalid_request", message: /"secret"/ },
    { name: "a __proto__ field", raw: () => `{"__proto__":{"admin":true},"url":"${HOOK}","format":"json"}`, headers: JSON_TYPE, status: 400, code: "invalid_request", message: /__proto__/ },
  ] satisfies Omit<Case, "method" | "path">[]
).map((c) => ({ ...c, name: `create notification: ${c.name}`, method: "POST", path: ntf, token: (f: Fixture) => f.keyA }));

const notificationOtherCases: Case[] = [
  // PATCH
  { name: "PATCH notification: another webhook's name (other case)", method: "PATCH", path: (f) => `${ntf(f)}/${f.otherNotificationId}`, token: (f) => f.keyA, json: () => ({ name: "PAGER" }), status: 409, code: "notification_name_taken" },
  { name: "PATCH notification: an empty object", method: "PATCH", path: ntfOne, json: () => ({}), status: 400, code: "invalid_request", message: /at least one field/ },
  { name: "PATCH notification: rotate_secret false", method: "PATCH", path: ntfOne, json: () => ({ rotate_secret: false }), status: 400, code: "invalid_request", message: /^rotate_secret: / },
  { name: "PATCH notification: a url with user info", method: "PATCH", path: ntfOne, json: () => ({ url: "https://t@hooks.example.com/x" }), status: 400, code: "invalid_request", message: /^url: must not contain user info/ },
  { name: "PATCH notification: format null", method: "PATCH", path: ntfOne, json: () => ({ format: null }), status: 400, code: "invalid_request", message: /^format: / },
  { name: "PATCH notification: an unknown field", method: "PATCH", path: ntfOne, json: () => ({ name: "x", url_origin: "https://evil.example" }), status: 400, code: "invalid_request", message: /url_origin/ },
  { name: "PATCH notification: Content-Encoding gzip", method: "PATCH", path: ntfOne, raw: () => gzip('{"name":"x"}'), headers: GZIP_JSON, status: 415, code: "unsupported_media_type" },
  { name: "PATCH notification: an unknown id", method: "PATCH", path: (f) => `${ntf(f)}/n-aaaaaaaaaa`, json: () => ({ name: "x" }), status: 404, code: "notification_not_found" },
  // GET / DELETE / test
  { name: "GET notification: an unknown id", method: "GET", path: (f) => `${ntf(f)}/n-aaaaaaaaaa`, status: 404, code: "notification_not_found" },
  { name: "GET notification: a malformed id", method: "GET", path: (f) => `${ntf(f)}/N-AAAAAAAAAA`, status: 404, code: "notification_not_found" },
  { name: "GET notification: an id with an encoded slash", method: "GET", path: (f) => `${ntf(f)}/${f.notificationId}%2F..`, status: 404, code: "notification_not_found" },
  { name: "DELETE notification: an unknown id", method: "DELETE", path: (f) => `${ntf(f)}/n-bbbbbbbbbb`, token: (f) => f.keyA, status: 404, code: "notification_not_found" },
  { name: "DELETE notification: a malformed id", method: "DELETE", path: (f) => `${ntf(f)}/..%2F..%2Fkeys`, status: 404, code: "notification_not_found" },
  { name: "test notification: an unknown id", method: "POST", path: (f) => `${ntf(f)}/n-cccccccccc/test`, status: 404, code: "notification_not_found" },
  { name: "test notification: an unknown field", method: "POST", path: (f) => `${ntfOne(f)}/test`, json: () => ({ type: "export.failing" }), status: 400, code: "invalid_request", message: /type/ },
  { name: "test notification: malformed JSON", method: "POST", path: (f) => `${ntfOne(f)}/test`, raw: () => "{", headers: JSON_TYPE, status: 400, code: "invalid_json" },
  { name: "test notification: Content-Type text/plain", method: "POST", path: (f) => `${ntfOne(f)}/test`, raw: () => "{}", headers: { "content-type": "text/plain" }, status: 415, code: "unsupported_media_type" },
  { name: "notifications: a project that does not exist", method: "GET", path: () => "/v1/projects/p-nosuchproject/notifications", status: 404, code: "project_not_found" },
  // who
  { name: "notifications: another project's key (list)", method: "GET", path: ntf, token: (f) => f.keyB, status: 403, code: "forbidden" },
  { name: "notifications: another project's key (create)", method: "POST", path: ntf, token: (f) => f.keyB, json: hookWith({}), status: 403, code: "forbidden" },
  { name: "notifications: another project's key (delete)", method: "DELETE", path: ntfOne, token: (f) => f.keyB, status: 403, code: "forbidden" },
  { name: "notifications: an ingest key (patch)", method: "PATCH", path: ntfOne, token: (f) => f.ingest, json: () => ({ name: "x" }), status: 403, code: "forbidden" },
  { name: "notifications: no token (test)", method: "POST", path: (f) => `${ntfOne(f)}/test`, token: () => null, status: 401, code: "unauthorized" },
  { name: "notifications: a revoked project key (create)", method: "POST", path: ntf, token: (f) => f.revokedProjectKey, json: hookWith({}), status: 401, code: "unauthorized" },
  // audit
  { name: "audit: another project's key", method: "GET", path: (f) => `/v1/projects/${f.pA}/audit`, token: (f) => f.keyB, status: 403, code: "forbidden" },
  { name: "audit: limit 0", method: "GET", path: (f) => `/v1/projects/${f.pA}/audit?limit=0`, status: 400, code: "invalid_request", message: /limit/ },
  { name: "audit: limit over 100", method: "GET", path: (f) => `/v1/projects/${f.pA}/audit?limit=1000`, status: 400, code: "invalid_request", message: /limit/ },
  { name: "audit: before not a number", method: "GET", path: (f) => `/v1/projects/${f.pA}/audit?before=latest`, status: 400, code: "invalid_request", message: /before/ },
  { name: "audit: a project that does not exist", method: "GET", path: () => "/v1/projects/p-nosuchproject/audit", status: 404, code: "project_not_found" },
];

/** Webhook URLs refused in production (ALLOW_PRIVATE_ENDPOINTS="false"): plain http, private addresses. */
const productionNotificationCases: Case[] = [
  ["http://hooks.example.com/services/x", /^url: must use https/],
  ["http://hooks.slack.com/services/T0/B0/x", /^url: must use https/],
  ["https://127.0.0.1/hook", /loopback, private or other special-purpose address/],
  ["https://169.254.169.254/latest/meta-data/", /loopback, private or other special-purpose address/],
  ["https://[::1]/hook", /loopback, private or other special-purpose address/],
  ["https://localhost/hook", /loopback, private or other special-purpose address/],
  ["https://10.1.2.3:8443/hook", /loopback, private or other special-purpose address/],
].flatMap(([url, message], i): Case[] => {
  const common = { production: true as const, status: 400, code: "invalid_request" as const, message: message as RegExp, token: (f: Fixture) => f.keyA };
  return i % 2 === 0
    ? [{ name: `production create notification: ${url}`, method: "POST", path: ntf, json: () => ({ url, format: "slack" }), ...common }]
    : [{ name: `production PATCH notification: ${url}`, method: "PATCH", path: ntfOne, json: () => ({ url }), ...common }];
});

const CORPUS: Case[] = [
  ...authCases,
  ...sampleCases,
  ...adminCases,
  ...putCases,
  ...otherExportCases,
  ...productionCases,
  ...notificationCreateCases,
  ...notificationOtherCases,
  ...productionNotificationCases,
];

// --- running a case ------------------------------------------------------------------------------------

const productionEnv = { ...env, ALLOW_PRIVATE_ENDPOINTS: "false" };

async function callProduction(method: string, path: string, init: { headers: Headers; body?: BodyInit }): Promise<ApiResponse> {
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(`http://edge.test${path}`, { method, ...init }), productionEnv as never, ctx);
  await waitOnExecutionContext(ctx);
  const text = await response.text();
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, text };
}

async function send(f: Fixture, c: Case): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...c.headers };
  const token = c.token ? c.token(f) : ADMIN;
  if (token !== null) headers.authorization ??= `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (c.json) {
    body = JSON.stringify(c.json(f));
    headers["content-type"] ??= "application/json";
  } else if (c.raw) {
    body = await c.raw(f);
  }
  if (c.production) return callProduction(c.method, c.path(f), { headers: new Headers(headers), ...(body !== undefined ? { body } : {}) });
  return call(c.method, c.path(f), { token: null, headers, ...(body !== undefined ? { rawBody: body } : {}) });
}

async function stateDigest(f: Fixture): Promise<string> {
  const dump = [await d1Dump(), await objectDump(f.pA), await objectDump(f.pB)].join("\n");
  const digest = await crypto.subtle.digest("SHA-256", utf8.encode(dump));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

// --- the suite -------------------------------------------------------------------------------------------

let fixture: Fixture;

beforeAll(async () => {
  const pA = await createProject();
  const pB = await createProject();
  const ns = newNamespace();
  const keyA = (await createProjectKey(pA)).key;
  const keyB = (await createProjectKey(pB)).key;
  const host = `bad-input-${ns.slice(0, 8)}`;
  const ingest = (await createIngestKey(host)).key;
  const revokedIngest = await createIngestKey(`revoked-${ns.slice(0, 8)}`);
  const revokedProject = await createProjectKey(pA);
  for (const id of [revokedIngest.key_id, revokedProject.key_id]) expect((await call("DELETE", `/v1/keys/${id}`)).status).toBe(204);

  const put = await call("PUT", `/v1/projects/${pA}/metrics-export`, {
    body: { endpoint: receiverUrl(ns), headers: [HEADER("Authorization", "Bearer bad-input-fixture-token")], enabled: false },
  });
  expect(put.status, put.text).toBe(200);
  // pA's webhooks: as many as a project may have. Its export is disabled, so no event ever reaches them.
  const hookNs = newNamespace();
  const webhookIds: string[] = [];
  for (const name of ["Pager", "Chat", "Webhook"]) {
    const r = await call("POST", `/v1/projects/${pA}/notifications`, { body: { name, url: `${receiverUrl(hookNs)}/hook/${name}`, format: "json" } });
    expect(r.status, r.text).toBe(201);
    webhookIds.push(r.body.notification_id);
  }
  fixture = {
    pA,
    pB,
    keyA,
    keyB,
    revokedProjectKey: revokedProject.key,
    host,
    ingest,
    revokedIngest: revokedIngest.key,
    revokedKeyId: revokedIngest.key_id,
    ns,
    notificationId: webhookIds[0]!,
    otherNotificationId: webhookIds[1]!,
    hookNs,
  };
  const ingested = await call("POST", "/v1/samples", { token: ingest, body: batch(fixture, [run(fixture), resource(fixture)]) });
  expect(ingested.body).toEqual({ accepted: 2, duplicate: false, rejected: [] });
  expect((await call("GET", `/v1/projects/${pB}/metrics-export`)).status).toBe(200);
});

describe("bad input changes nothing and never answers 5xx", () => {
  it("covers at least 80 cases over every route", () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(80);
    const routes = new Set(
      CORPUS.map((c) => `${c.method} ${c.path(fixture).replace(fixture.pA, ":id").replace(fixture.pB, ":id").replace(fixture.notificationId, ":nid")}`),
    );
    for (const route of [
      "POST /v1/projects",
      "GET /v1/projects",
      "POST /v1/projects/:id/keys",
      "POST /v1/ingest-keys",
      "DELETE /v1/keys/key_0000000000000000",
      "GET /v1/projects/:id/metrics-export",
      "PUT /v1/projects/:id/metrics-export",
      "PATCH /v1/projects/:id/metrics-export",
      "DELETE /v1/projects/:id/metrics-export",
      "POST /v1/projects/:id/metrics-export/resume",
      "POST /v1/projects/:id/metrics-export/test",
      "POST /v1/projects/:id/metrics-export/flush",
      "GET /v1/projects/:id/metrics-export/preview",
      "GET /v1/projects/:id/stats",
      "GET /v1/projects/:id/notifications",
      "POST /v1/projects/:id/notifications",
      "GET /v1/projects/:id/notifications/n-aaaaaaaaaa",
      "PATCH /v1/projects/:id/notifications/:nid",
      "DELETE /v1/projects/:id/notifications/:nid",
      "POST /v1/projects/:id/notifications/:nid/test",
      "GET /v1/projects/:id/audit",
      "POST /v1/samples",
    ]) {
      expect(routes, route).toContain(route);
    }
  });

  for (const c of CORPUS) {
    const expected = c.code ?? (c.rejected ? `rejected ${c.rejected.join(", ")}` : "no body");
    it(`${c.name} → ${c.status} ${expected}`, async () => {
      const before = await stateDigest(fixture);
      const r = await send(fixture, c);
      expect(r.status, r.text.slice(0, 300)).toBeLessThan(500);
      expect(r.status, r.text.slice(0, 300)).toBe(c.status);
      if (c.status >= 400) {
        expect(r.body?.error?.code, r.text.slice(0, 300)).toBe(c.code);
        expect(typeof r.body.error.message).toBe("string");
        if (c.message) expect(r.body.error.message).toMatch(c.message);
      } else if (c.rejected) {
        expect(r.body.accepted).toBe(0);
        expect(r.body.duplicate).toBe(false);
        expect(r.body.rejected.map((x: { code: string }) => x.code)).toEqual(c.rejected);
      } else {
        expect(r.text).toBe("");
      }
      expect(await stateDigest(fixture), "stored state changed").toBe(before);
      // Checked per row (not once after the corpus), so the outcome does not depend on test order.
      expect(await requestCount(fixture.ns), "a request reached the configured destination").toBe(0);
      expect(await requestCount(fixture.hookNs), "a request reached a webhook").toBe(0);
    });
  }
});

describe("duplicate JSON keys", () => {
  // Decision: bodies are parsed with JSON.parse, which keeps the last of duplicate keys (RFC 8259
  // §4 leaves duplicates to the implementation). Nothing between the client and the worker parses
  // JSON, so there is no second parser to disagree with; every route therefore applies the last value.
  it("the last value wins, on admin and ingest routes alike", async () => {
    const project = `p-dup${crypto.randomUUID().slice(0, 8)}`;
    const created = await call("POST", "/v1/projects", {
      rawBody: `{"project_id":"p-dupfirst-never","name":"first","project_id":"${project}","name":"second"}`,
      headers: JSON_TYPE,
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ project_id: project, name: "second" });

    const f = fixture;
    const r = await call("POST", "/v1/samples", {
      token: f.ingest,
      rawBody: batchText(f, JSON.stringify(run(f, { project_id: project })).replace("}", ',"execution_ms":250}')),
      headers: JSON_TYPE,
    });
    expect(r.body).toEqual({ accepted: 1, duplicate: false, rejected: [] });
    const stats = await call("GET", `/v1/projects/${project}/stats`);
    expect(stats.body.series).toBe(1);
  });
});

describe("private endpoints through the production configuration", () => {
  it("the env copy gets settings of its own: private endpoints refused there, allowed in the test env", () => {
    expect(settingsOf(env).allowPrivateEndpoints).toBe(true);
    expect(settingsOf(productionEnv).allowPrivateEndpoints).toBe(false);
    expect(settingsOf(productionEnv)).toBe(settingsOf(productionEnv));
  });

  it("the copy reaches D1 and the objects (a read succeeds through it)", async () => {
    const r = await callProduction("GET", `/v1/projects/${fixture.pA}/metrics-export`, {
      headers: new Headers({ authorization: `Bearer ${fixture.keyA}` }),
    });
    expect(r.status).toBe(200);
    expect(r.body.endpoint).toBe(receiverUrl(fixture.ns));
  });

  it("the endpoint refused in production is accepted by the test env (Test Connection reaches the receiver)", async () => {
    const ns = newNamespace();
    const production = await callProduction("POST", `/v1/projects/${fixture.pB}/metrics-export/test`, {
      headers: new Headers({ authorization: `Bearer ${fixture.keyB}`, "content-type": "application/json" }),
      body: JSON.stringify({ endpoint: receiverUrl(ns) }),
    });
    expect(production.status).toBe(400);
    expect(production.body.error.message).toMatch(/loopback, private or other special-purpose address \(127\.0\.0\.1: Loopback, RFC 1122\)/);
    expect(await requestCount(ns)).toBe(0);

    const test = await call("POST", `/v1/projects/${fixture.pB}/metrics-export/test`, { token: fixture.keyB, body: { endpoint: receiverUrl(ns) } });
    expect(test.status).toBe(200);
    expect(test.body.ok).toBe(true);
    expect(await requestCount(ns)).toBe(1);
  });
});

describe("accepted extremes", () => {
  // Amounts are bounded (src/validation/samples.ts) so that sums over every host of an app stay
  // finite: OTLP/JSON cannot carry Infinity (JSON.stringify turns it into null, read as 0).
  it("every exported gauge stays finite when hosts report the largest accepted amounts", async () => {
    const project = await createProject();
    const ns = newNamespace();
    const put = await call("PUT", `/v1/projects/${project}/metrics-export`, { body: { endpoint: receiverUrl(ns), protocol: "http/json" } });
    expect(put.status).toBe(200);
    const f = { ...fixture, pA: project };
    const largest = {
      cpu_cores: MAX_CORES,
      memory_bytes: MAX_BYTES,
      gpu_memory_bytes: MAX_BYTES,
      gpu_compute_percent: 100,
      gpu_count: MAX_COUNT,
      containers_running: MAX_COUNT,
      containers_ready: MAX_COUNT,
    };
    for (const hostId of [`max-a-${ns.slice(0, 6)}`, `max-b-${ns.slice(0, 6)}`]) {
      const { key } = await createIngestKey(hostId);
      const r = await call("POST", "/v1/samples", { token: key, body: { host_id: hostId, batch_id: "max", samples: [resource(f, largest)] } });
      expect(r.body).toEqual({ accepted: 1, duplicate: false, rejected: [] });
    }
    const flushed = await call("POST", `/v1/projects/${project}/metrics-export/flush`);
    expect(flushed.body).toMatchObject({ ok: true, requests: 1 });
    const [sent] = await requests(ns);
    const gauges = metrics(sent!).flatMap((m) => (m.gauge?.dataPoints ?? []).map((point) => [m.name, point.asDouble] as const));
    expect(gauges).toHaveLength(6);
    for (const [name, value] of gauges) expect(Number.isFinite(value) && value! > 0, `${name}: ${value}`).toBe(true);
  });
});
