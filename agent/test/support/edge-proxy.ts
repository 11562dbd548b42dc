/**
 * A local HTTP proxy between the agent and the edge, for delivery-fault tests, on 127.0.0.1.
 *
 * Modes: `forward` (to the real worker), `refuse` (the port is closed: connection refused),
 * `unavailable` (503), `hold` (forwards, so the edge applies the batch, then never answers the agent:
 * the agent can be killed between post and delete), `corrupt` (adds an unknown field to the body, so
 * the real edge answers 400). Without a target it is a stub edge that answers 202 itself. Every batch
 * seen is recorded with the edge's answer.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { gunzipSync, gzipSync } from "node:zlib";

export type ProxyMode = "forward" | "refuse" | "unavailable" | "hold" | "corrupt";

export interface Exchange {
  batchId: string;
  hostId: string;
  samples: { type: string; [field: string]: unknown }[];
  mode: ProxyMode;
  status?: number;
  response?: { accepted?: number; duplicate?: boolean; rejected?: unknown[]; error?: { code: string; message: string } };
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export class EdgeProxy {
  readonly exchanges: Exchange[] = [];
  mode: ProxyMode = "forward";
  #target: string | undefined;
  #server: Server;
  #port = 0;
  #sockets = new Set<Socket>();
  #stubSeen = new Set<string>();

  private constructor(target: string | undefined) {
    this.#target = target;
    this.#server = this.#createServer();
  }

  /** `target`: the worker's URL; undefined for a stub edge answering 202. */
  static async start(target?: string): Promise<EdgeProxy> {
    const proxy = new EdgeProxy(target);
    await proxy.#listen(0);
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Batches whose edge answer was 2xx, by batch_id. */
  delivered(): Exchange[] {
    return this.exchanges.filter((e) => e.status !== undefined && e.status >= 200 && e.status < 300);
  }

  async setMode(mode: ProxyMode): Promise<void> {
    if (mode === "refuse" && this.mode !== "refuse") await this.#close();
    if (mode !== "refuse" && this.mode === "refuse") {
      this.#server = this.#createServer();
      await this.#listen(this.#port);
    }
    this.mode = mode;
  }

  async stop(): Promise<void> {
    if (this.mode !== "refuse") await this.#close();
  }

  #createServer(): Server {
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "proxy", message: String(error) } }));
      });
    });
    server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
    return server;
  }

  #listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, "127.0.0.1", () => {
        const a = this.#server.address();
        if (typeof a === "object" && a !== null) this.#port = a.port;
        resolve();
      });
    });
  }

  #close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await body(req);
    const gzipped = req.headers["content-encoding"] === "gzip";
    const batch = JSON.parse((gzipped ? gunzipSync(raw) : raw).toString("utf8")) as { host_id: string; batch_id: string; samples: Exchange["samples"] };
    const exchange: Exchange = { batchId: batch.batch_id, hostId: batch.host_id, samples: batch.samples, mode: this.mode };
    this.exchanges.push(exchange);
    if (this.mode === "unavailable") {
      exchange.status = 503;
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "unavailable", message: "proxy: edge down" } }));
      return;
    }
    let forwarded = raw;
    if (this.mode === "corrupt") forwarded = gzipSync(JSON.stringify({ ...batch, extra: true }));
    let status: number;
    let text: string;
    if (this.#target === undefined) {
      const duplicate = this.#stubSeen.has(batch.batch_id);
      this.#stubSeen.add(batch.batch_id);
      status = 202;
      text = JSON.stringify({ accepted: batch.samples.length, duplicate, rejected: [] });
    } else {
      const response = await fetch(`${this.#target}${req.url}`, {
        method: "POST",
        headers: {
          authorization: req.headers.authorization ?? "",
          "content-type": req.headers["content-type"] ?? "application/json",
          ...(gzipped || this.mode === "corrupt" ? { "content-encoding": "gzip" } : {}),
        },
        body: forwarded,
      });
      status = response.status;
      text = await response.text();
    }
    exchange.status = status;
    exchange.response = JSON.parse(text) as Exchange["response"];
    // The edge has applied the batch; the agent never hears of it.
    if (this.mode === "hold") return;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(text);
  }
}
