/**
 * The agent's local HTTP endpoint, on a loopback address or a Unix socket (never a public interface):
 * `POST /runs` for the platform's request router, `GET /healthz` and `GET /metrics` for the operator.
 * JSON errors have the edge's shape: `{"error": {"code", "message"}}`.
 */
import { chmod, unlink } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Listen } from "../config";
import { errorMessage, type Logger } from "../log";

export const MAX_RUNS_BODY_BYTES = 1024 * 1024;
// The router and the agent share the host; a socket file only they (owner and group) can use.
const SOCKET_MODE = 0o660;

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface Handlers {
  /** A refusal (503) decided before the body is read, or undefined to go on. */
  refuseRuns(): Reply | undefined;
  runs(body: unknown): Reply;
  health(): Reply;
  metrics(): string;
}

export interface LocalServer {
  /** "127.0.0.1:<port>" or the socket path. */
  address: string;
  close(): Promise<void>;
}

const error = (status: number, code: string, message: string, headers?: Record<string, string>): Reply => ({
  status,
  body: { error: { code, message } },
  ...(headers === undefined ? {} : { headers }),
});

function send(res: ServerResponse, reply: Reply): void {
  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...reply.headers });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<Buffer | "too_large"> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers["content-length"] ?? 0) > MAX_RUNS_BODY_BYTES) return resolve("too_large");
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RUNS_BODY_BYTES) {
        resolve("too_large");
        req.removeAllListeners("data");
        req.resume();
      } else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

async function postRuns(req: IncomingMessage, handlers: Handlers): Promise<Reply> {
  const refusal = handlers.refuseRuns();
  if (refusal !== undefined) {
    req.resume();
    return refusal;
  }
  const encoding = req.headers["content-encoding"];
  if (encoding !== undefined && encoding !== "identity") {
    req.resume();
    return error(415, "unsupported_media_type", "Send runs as plain JSON (no Content-Encoding).");
  }
  const body = await readBody(req);
  if (body === "too_large") return error(413, "payload_too_large", `The body is larger than ${MAX_RUNS_BODY_BYTES} bytes.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return error(400, "invalid_json", "The body is not valid JSON.");
  }
  return handlers.runs(parsed);
}

async function route(req: IncomingMessage, res: ServerResponse, handlers: Handlers): Promise<void> {
  const path = (req.url ?? "/").split("?")[0];
  if (path === "/runs") {
    if (req.method !== "POST") return send(res, error(405, "method_not_allowed", "POST /runs only.", { allow: "POST" }));
    return send(res, await postRuns(req, handlers));
  }
  if (path === "/healthz" && req.method === "GET") return send(res, handlers.health());
  if (path === "/metrics" && req.method === "GET") {
    const text = handlers.metrics();
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "content-length": Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  req.resume();
  send(res, error(404, "not_found", "POST /runs, GET /healthz, GET /metrics."));
}

export async function startServer(listen: Listen, handlers: Handlers, log: Logger): Promise<LocalServer> {
  const server = createServer((req, res) => {
    route(req, res, handlers).catch((e: unknown) => {
      log.error("http_handler_failed", { error: errorMessage(e) });
      if (!res.headersSent) send(res, error(500, "internal", "Internal error."));
      else res.destroy();
    });
  });
  if (listen.kind === "unix") {
    // A socket left by a previous run that was killed; listen() fails with EADDRINUSE otherwise.
    await unlink(listen.path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw e;
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    if (listen.kind === "unix") server.listen(listen.path, resolve);
    else server.listen(listen.port, listen.host, resolve);
  });
  let address: string;
  if (listen.kind === "unix") {
    await chmod(listen.path, SOCKET_MODE);
    address = listen.path;
  } else {
    const a = server.address();
    address = typeof a === "object" && a !== null ? `${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}` : String(a);
  }
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
