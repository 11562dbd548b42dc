/**
 * A real OTLP/HTTP metrics receiver for tests, on 127.0.0.1 and an ephemeral port.
 *
 * Test files running in parallel share one receiver and keep apart by namespace: each uses its own
 * `/r/<namespace>/…` base endpoint, its own scripted responses and its own request log. Tests inside
 * workerd can only fetch, so scripting and inspection are an HTTP control API:
 *
 *   PUT    /control/<ns>/script    body: ScriptedResponse[]; replaces the namespace's queue → 204
 *   GET    /control/<ns>/requests  → RecordedRequest[] (oldest first, bodies decoded)
 *   GET    /control/<ns>/count     → {"count": n} (requests received since the last reset)
 *   PUT    /control/<ns>/limit     body: {"max_body_bytes": n}; unscripted requests whose
 *                                  uncompressed body is larger are answered 413 → 204
 *   DELETE /control/<ns>           → 204; forgets the namespace's script, limit and requests
 *
 * Every request under `/r/<ns>/` is recorded and answered by the next scripted response. With the
 * queue empty, `POST /r/<ns>/v1/metrics` gets 200 and an empty ExportMetricsServiceResponse in the
 * request's content type (400 if the body does not decode, 415 for other content types), a webhook
 * `POST /r/<ns>/hook` (or `/r/<ns>/hook/<anything>`) gets 204, anything else 404. Requests to other
 * paths than `…/v1/metrics` also keep their raw body as text (`bodyText`: webhook bodies are checked
 * byte for byte, e.g. against their signature). Bodies are decoded with protobufjs from ./otlp/*.proto, which were written from the OTLP
 * specification and share nothing with the encoder under test.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import url from "node:url";
import zlib from "node:zlib";
import protobuf from "protobufjs";
import type { RecordedRequest, ScriptedResponse } from "./types";

export type { RecordedRequest, ScriptedResponse };



export interface Receiver {
  port: number;
  close(): Promise<void>;
}

/** The OTLP specification recommends servers accept at least this much (decompressed). */
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const MAX_REQUESTS_PER_NAMESPACE = 10_000;
const NAMESPACE = /^[A-Za-z0-9_.-]{1,128}$/;
const PROTOBUF = "application/x-protobuf";
const JSON_TYPE = "application/json";

interface Namespace {
  script: ScriptedResponse[];
  maxBodyBytes?: number;
  requests: RecordedRequest[];
  received: number;
}

export async function startReceiver(): Promise<Receiver> {
  const codec = loadCodec();
  const namespaces = new Map<string, Namespace>();
  const sockets = new Set<Socket>();
  const namespace = (name: string): Namespace => {
    let ns = namespaces.get(name);
    if (!ns) {
      ns = { script: [], requests: [], received: 0 };
      namespaces.set(name, ns);
    }
    return ns;
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { "content-type": "text/plain" }, `receiver error: ${String(error)}`);
      else res.destroy();
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0]!;
    const [area, name, ...rest] = path.split("/").slice(1);
    if (name === undefined || !NAMESPACE.test(name)) return send(res, 404, {}, "");
    if (area === "control") return control(req, res, name, rest.join("/"));
    if (area !== "r") return send(res, 404, {}, "");

    const ns = namespace(name);
    const recorded = await record(req, path);
    ns.received++;
    ns.requests.push(recorded.request);
    if (ns.requests.length > MAX_REQUESTS_PER_NAMESPACE) ns.requests.shift();
    const scripted = ns.script.shift();
    if (scripted) return answer(res, recorded.request, scripted);
    if (recorded.tooLarge) return send(res, 413, { "content-type": "text/plain" }, "body too large");
    if (ns.maxBodyBytes !== undefined && recorded.request.uncompressedBytes > ns.maxBodyBytes) {
      return send(res, 413, { "content-type": "text/plain" }, `body larger than ${ns.maxBodyBytes} bytes`);
    }
    if (req.method === "POST" && rest[0] === "hook") return send(res, 204, {}, "");
    if (req.method !== "POST" || rest.join("/") !== "v1/metrics") return send(res, 404, {}, "");
    if (!isOtlpContentType(recorded.request.contentType)) {
      return send(res, 415, { "content-type": "text/plain" }, "unsupported content type");
    }
    if (recorded.request.decodeError !== undefined) {
      return send(res, 400, { "content-type": "text/plain" }, recorded.request.decodeError);
    }
    return answer(res, recorded.request, {});
  }

  async function control(req: IncomingMessage, res: ServerResponse, name: string, action: string): Promise<void> {
    const json = { "content-type": JSON_TYPE };
    if (req.method === "PUT" && action === "limit") {
      const raw = await readBody(req, 1024);
      const parsed = raw === null ? null : (JSON.parse(new TextDecoder().decode(raw)) as { max_body_bytes?: unknown });
      if (typeof parsed?.max_body_bytes !== "number") return send(res, 400, json, JSON.stringify({ error: 'limit must be {"max_body_bytes": n}' }));
      namespace(name).maxBodyBytes = parsed.max_body_bytes;
      return send(res, 204, {}, "");
    }
    if (req.method === "PUT" && action === "script") {
      const raw = await readBody(req, MAX_BODY_BYTES);
      let parsed: unknown;
      try {
        parsed = JSON.parse(new TextDecoder().decode(raw ?? new Uint8Array(0)));
      } catch {
        parsed = undefined;
      }
      if (!Array.isArray(parsed) || !parsed.every((r) => typeof r === "object" && r !== null)) {
        return send(res, 400, json, JSON.stringify({ error: "script must be a JSON array of response objects" }));
      }
      namespace(name).script = parsed as ScriptedResponse[];
      return send(res, 204, {}, "");
    }
    if (req.method === "GET" && action === "requests") {
      return send(res, 200, json, JSON.stringify(namespaces.get(name)?.requests ?? []));
    }
    if (req.method === "GET" && action === "count") {
      return send(res, 200, json, JSON.stringify({ count: namespaces.get(name)?.received ?? 0 }));
    }
    if (req.method === "DELETE" && action === "") {
      namespaces.delete(name);
      return send(res, 204, {}, "");
    }
    return send(res, 404, json, JSON.stringify({ error: "unknown control request" }));
  }

  async function record(req: IncomingMessage, path: string): Promise<{ request: RecordedRequest; tooLarge: boolean }> {
    const headers = collectHeaders(req.rawHeaders);
    const contentType = headers["content-type"] ?? null;
    const contentEncoding = headers["content-encoding"] ?? null;
    const receivedAtMs = Date.now();
    const request: RecordedRequest = {
      path,
      method: req.method ?? "",
      headers,
      contentType,
      contentEncoding,
      bodyBytes: 0,
      uncompressedBytes: 0,
      receivedAtMs,
    };
    const raw = await readBody(req, MAX_BODY_BYTES);
    if (raw === null) {
      request.decodeError = `body larger than ${MAX_BODY_BYTES} bytes`;
      return { request, tooLarge: true };
    }
    request.bodyBytes = raw.length;
    let body = raw;
    if (contentEncoding?.toLowerCase() === "gzip") {
      try {
        body = new Uint8Array(zlib.gunzipSync(raw, { maxOutputLength: MAX_BODY_BYTES }));
      } catch (error) {
        const tooLarge = error instanceof RangeError;
        request.decodeError = tooLarge ? `decompressed body larger than ${MAX_BODY_BYTES} bytes` : `gunzip: ${String(error)}`;
        return { request, tooLarge };
      }
    }
    request.uncompressedBytes = body.length;
    if (!path.endsWith("/v1/metrics")) {
      try {
        request.bodyText = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(body);
      } catch {
        // Not UTF-8: no text form.
      }
    }
    if (body.length === 0 && contentType === null) return { request, tooLarge: false };
    try {
      if (contentType === PROTOBUF) request.body = codec.decodeRequest(body);
      else if (contentType === JSON_TYPE) request.body = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body));
      else request.decodeError = `not decoded: content type ${contentType ?? "(none)"}`;
    } catch (error) {
      request.decodeError = `${contentType === PROTOBUF ? "protobuf" : "JSON"}: ${String(error)}`;
    }
    return { request, tooLarge: false };
  }

  async function answer(res: ServerResponse, request: RecordedRequest, scripted: ScriptedResponse): Promise<void> {
    if (scripted.hang) return; // The socket stays open until the client aborts or close() runs.
    if (scripted.delayMs) await new Promise((resolve) => setTimeout(resolve, scripted.delayMs));
    const status = scripted.status ?? 200;
    const asJson = request.contentType === JSON_TYPE;
    let headers: Record<string, string>;
    let body: string | Uint8Array;
    if (scripted.echoHeaders) {
      headers = { "content-type": JSON_TYPE };
      body = JSON.stringify(request.headers);
    } else if (scripted.body !== undefined) {
      headers = { "content-type": "text/plain" };
      body = scripted.body;
    } else if (status >= 200 && status < 300) {
      headers = { "content-type": asJson ? JSON_TYPE : PROTOBUF };
      body = codec.encodeResponse(scripted.partialSuccess, asJson);
    } else {
      headers = {};
      body = "";
    }
    headers = { ...headers, ...lowerCaseKeys(scripted.headers ?? {}) };
    if (scripted.trickleMs) {
      res.writeHead(status, headers);
      const timer = setInterval(() => res.write("."), scripted.trickleMs);
      const stop = () => clearInterval(timer);
      res.on("close", stop);
      setTimeout(() => {
        stop();
        res.end();
      }, 60_000).unref();
      return;
    }
    if (scripted.reset) {
      res.writeHead(status, { ...headers, "content-length": "1048576" });
      res.write("partial");
      // Let the headers and the partial body reach the client first.
      setTimeout(() => res.destroy(), 20);
      return;
    }
    send(res, status, headers, body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("receiver has no TCP address");

  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

interface Codec {
  decodeRequest(bytes: Uint8Array): unknown;
  encodeResponse(partialSuccess: ScriptedResponse["partialSuccess"], asJson: boolean): string | Uint8Array;
}

function loadCodec(): Codec {
  const directory = url.fileURLToPath(new URL("./otlp/", (import.meta as { url: string }).url));
  const root = new protobuf.Root().loadSync(
    ["common.proto", "resource.proto", "metrics.proto", "metrics_service.proto"].map((file) => directory + file),
  );
  root.resolveAll();
  const request = root.lookupType("opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest");
  const response = root.lookupType("opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse");
  return {
    decodeRequest: (bytes) =>
      request.toObject(request.decode(bytes), { longs: Number, enums: Number, bytes: String, defaults: false, json: true }),
    encodeResponse: (partialSuccess, asJson) => {
      const message = response.fromObject(partialSuccess ? { partialSuccess } : {});
      // proto3 JSON mapping: int64 as a decimal string, as real collectors answer.
      if (asJson) return JSON.stringify(response.toObject(message, { longs: String, json: true }));
      return response.encode(message).finish();
    },
  };
}

function isOtlpContentType(contentType: string | null): boolean {
  return contentType === PROTOBUF || contentType === JSON_TYPE;
}

/** Null when the body exceeds `limit` (the rest is drained so the client still gets an answer). */
function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array | null> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let length = 0;
    let tooLarge = false;
    req.on("data", (chunk: Uint8Array) => {
      length += chunk.length;
      if (length > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on("end", () => {
      if (tooLarge) return resolve(null);
      const body = new Uint8Array(length);
      let at = 0;
      for (const chunk of chunks) {
        body.set(chunk, at);
        at += chunk.length;
      }
      resolve(body);
    });
    req.on("error", reject);
  });
}

function collectHeaders(rawHeaders: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const key = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  return headers;
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]));
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string | Uint8Array): void {
  res.writeHead(status, headers);
  res.end(body);
}

