/**
 * Header values at rest: no plaintext anywhere in the object's SQLite or in D1, fresh IVs, AAD
 * binding to project and header name, tamper detection, key rotation, survival across eviction.
 */
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import { HeaderCipher, type Opened, type SealedValue } from "../../src/crypto/header-crypto";
import { call, createProject, projectStub, type ApiResponse } from "./helpers";

const MASTER_KEY = Uint8Array.from(atob(env.HEADER_ENCRYPTION_KEY), (c) => c.charCodeAt(0));
const exportPath = (project: string) => `/v1/projects/${project}/metrics-export`;

// --- Scanning storage for a plaintext, in the forms it could hide in ------------------------------

const utf8 = new TextEncoder();

function latin1(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The plaintext as raw text, hex, and base64/base64url at each of the three byte alignments (only
 * the characters determined by the plaintext alone, so a match does not depend on its neighbours).
 */
function needlesFor(plain: string): string[] {
  const bytes = utf8.encode(plain);
  const needles = [plain, toHex(bytes)];
  for (let pad = 0; pad < 3; pad++) {
    const padded = new Uint8Array(pad + bytes.length);
    padded.set(bytes, pad);
    const b64 = btoa(latin1(padded));
    const part = b64.slice(Math.ceil((pad * 8) / 6), Math.floor(((pad + bytes.length) * 8) / 6));
    needles.push(part, part.replace(/\+/g, "-").replace(/\//g, "_"));
  }
  return needles;
}

type Cell = SqlStorageValue | null;
interface ScannedRow {
  source: string;
  cells: Cell[];
}

/** Each cell as text: strings as they are, blobs as their bytes (latin1) and as hex. */
function cellTexts(cell: Cell): string[] {
  if (cell === null) return [];
  if (cell instanceof ArrayBuffer) {
    const bytes = new Uint8Array(cell);
    return [latin1(bytes), new TextDecoder().decode(bytes), toHex(bytes)];
  }
  return [String(cell)];
}

function findPlaintext(rows: ScannedRow[], plain: string): string[] {
  const hits: string[] = [];
  const needles = needlesFor(plain);
  for (const row of rows) {
    for (const cell of row.cells) {
      for (const text of cellTexts(cell)) {
        for (const needle of needles) {
          const haystack = /^[0-9a-f]+$/.test(needle) ? text.toLowerCase() : text;
          if (haystack.includes(needle)) hits.push(`${row.source}: ${needle}`);
        }
      }
    }
  }
  return hits;
}

/** Every row of every table of the project's object (and its key-value storage). */
async function objectRows(project: string): Promise<{ tables: string[]; rows: ScannedRow[] }> {
  return runInDurableObject(projectStub(project), async (_instance, state) => {
    const sql = state.storage.sql;
    const tables = sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .toArray()
      .map((r) => r.name);
    const rows: ScannedRow[] = [];
    for (const table of tables) {
      // The runtime's own key-value table is read through the storage API below.
      if (table.startsWith("_cf_")) continue;
      for (const row of sql.exec(`SELECT * FROM "${table}"`).toArray()) {
        rows.push({ source: `object.${table}`, cells: Object.values(row) as Cell[] });
      }
    }
    for (const [key, value] of await state.storage.list()) {
      rows.push({ source: "object.kv", cells: [key, typeof value === "string" ? value : JSON.stringify(value)] });
    }
    return { tables, rows };
  });
}

async function d1Rows(): Promise<{ tables: string[]; rows: ScannedRow[] }> {
  const tables = (await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all<{ name: string }>()).results
    .map((r) => r.name)
    .filter((name) => !name.startsWith("_cf_") && !name.startsWith("sqlite_"));
  const rows: ScannedRow[] = [];
  for (const table of tables) {
    const result = await env.DB.prepare(`SELECT * FROM "${table}"`).all<Record<string, Cell>>();
    for (const row of result.results) rows.push({ source: `d1.${table}`, cells: Object.values(row) });
  }
  return { tables, rows };
}

/** The origin every test endpoint below is on. */
const ORIGIN = "https://otlp.example.com";

async function storedSealed(project: string): Promise<{ name: string; origin: string | null; sealed: SealedValue }[]> {
  return runInDurableObject(projectStub(project), (_instance, state) =>
    state.storage.sql
      .exec<{ name: string; origin: string | null; key_version: string; iv: ArrayBuffer; ciphertext: ArrayBuffer }>(
        "SELECT name, origin, key_version, iv, ciphertext FROM export_headers ORDER BY position",
      )
      .toArray()
      .map((r) => ({ name: r.name, origin: r.origin, sealed: { keyVersion: r.key_version, iv: new Uint8Array(r.iv), ciphertext: new Uint8Array(r.ciphertext) } })),
  );
}

async function insertSealed(project: string, name: string, sealed: SealedValue, origin: string | null = ORIGIN): Promise<void> {
  await runInDurableObject(projectStub(project), (_instance, state) => {
    state.storage.sql.exec("DELETE FROM export_headers");
    state.storage.sql.exec(
      "INSERT INTO export_headers (export_id, name, position, origin, key_version, iv, ciphertext) VALUES ('default', ?, 0, ?, ?, ?, ?)",
      name,
      origin,
      sealed.keyVersion,
      sealed.iv,
      sealed.ciphertext,
    );
  });
}

async function put(project: string, body: unknown): Promise<ApiResponse> {
  const r = await call("PUT", exportPath(project), { body });
  expect(r.status, r.text).toBe(200);
  return r;
}

function flipBit(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index] = copy[index]! ^ 0x01;
  return copy;
}

async function expectUnreadable(opening: Promise<Opened>, ...mustNotContain: string[]): Promise<void> {
  const opened = await opening;
  expect(opened.ok).toBe(false);
  if (!opened.ok) for (const text of mustNotContain) expect(opened.message).not.toContain(text);
}

/** The plaintext of a value that must open. */
async function plain(opening: Promise<Opened>): Promise<string> {
  const opened = await opening;
  if (!opened.ok) throw new Error(opened.message);
  return opened.value;
}

let fetchSpy: MockInstance<typeof fetch>;

beforeEach(() => {
  fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response(null, { status: 200 }));
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the storage scanner", () => {
  it("finds a plaintext stored raw, as hex, or as base64 at any alignment (so a clean scan means something)", () => {
    const plain = "scanner-self-test-VALUE-42";
    const bytes = utf8.encode(plain);
    const forms: Cell[] = [
      `prefix ${plain} suffix`,
      toHex(bytes).toUpperCase(),
      btoa(`a${plain}`),
      btoa(`ab${plain}`).replace(/\+/g, "-").replace(/\//g, "_"),
      utf8.encode(`xx${plain}yy`).buffer as ArrayBuffer,
    ];
    for (const form of forms) expect(findPlaintext([{ source: "t", cells: [form] }], plain), String(form)).not.toEqual([]);
    expect(findPlaintext([{ source: "t", cells: ["unrelated", 42, null] }], plain)).toEqual([]);
  });
});

describe("no plaintext header value at rest", () => {
  it("after a PUT, no row of any table of the object or of D1 holds a value as text, hex or base64", async () => {
    const secrets = ["glc_eyJvIjoiMTIzNDU2Nzg5MCIsIm4iOiJzdGFjay1QTEFJTlRFWFQifQ", "DD-PLAINTEXT-9f8e7d6c5b4a39281706", "tenant-PLAINTEXT-4711-abcdef"];
    const project = await createProject();
    await put(project, {
      endpoint: "https://otlp-gateway-prod.grafana.example/otlp",
      destination: "grafana_cloud",
      headers: [
        { name: "Authorization", value: `Bearer ${secrets[0]}` },
        { name: "DD-API-KEY", value: secrets[1] },
        { name: "X-Scope-OrgID", value: secrets[2] },
      ],
    });
    // Exercise every path that touches headers: keep by name, disable, enable, test, flush.
    await put(project, {
      endpoint: "https://otlp-gateway-prod.grafana.example/otlp",
      headers: [{ name: "authorization" }, { name: "DD-API-KEY" }, { name: "X-Scope-OrgID" }],
    });
    expect((await call("PATCH", exportPath(project), { body: { enabled: false } })).status).toBe(200);
    expect((await call("PATCH", exportPath(project), { body: { enabled: true } })).status).toBe(200);
    expect((await call("POST", `${exportPath(project)}/test`)).body.ok).toBe(true);
    expect((await call("POST", `${exportPath(project)}/flush`)).status).toBe(200);

    const object = await objectRows(project);
    const d1 = await d1Rows();
    expect(object.tables).toContain("export_headers");
    expect(object.tables).toContain("export_config");
    expect(d1.tables).toEqual(expect.arrayContaining(["projects", "api_keys"]));
    const rows = [...object.rows, ...d1.rows];
    // Positive controls: what is meant to be stored in the clear is found by the same scan.
    expect(findPlaintext(rows, "otlp-gateway-prod.grafana.example")).not.toEqual([]);
    expect(findPlaintext(rows, "X-Scope-OrgID")).not.toEqual([]);
    expect(findPlaintext(rows, project)).not.toEqual([]);
    for (const secret of secrets) expect(findPlaintext(rows, secret), secret).toEqual([]);
  });

  it("header values appear in no log line", async () => {
    const secret = "LOGGED-NEVER-5e1f0c2b9a";
    const lines: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      });
    }
    const project = await createProject();
    await put(project, { endpoint: "https://otlp.example.com", headers: [{ name: "X-Api-Key", value: secret }] });
    // A destination that echoes the credential back in its error body.
    fetchSpy.mockImplementation(async () => new Response(`{"error":"invalid api key ${secret}"}`, { status: 401 }));
    const tested = await call("POST", `${exportPath(project)}/test`);
    expect(tested.body.ok).toBe(false);
    expect(tested.body.http_status).toBe(401);
    expect(tested.text).not.toContain(secret);
    await call("PUT", exportPath(project), { body: { endpoint: "https://otlp.example.com", headers: [{ name: "X-Api-Key", value: `${secret}\n` }] } });
    for (const line of lines) expect(line).not.toContain(secret);
  });
});

describe("sealing", () => {
  it("equal values get different IVs and ciphertexts", async () => {
    const project = await createProject();
    await put(project, {
      endpoint: "https://otlp.example.com",
      headers: [
        { name: "X-One", value: "same-value-twice" },
        { name: "X-Two", value: "same-value-twice" },
      ],
    });
    const [first, second] = await storedSealed(project);
    expect(first!.sealed.iv).toHaveLength(12);
    expect(toHex(first!.sealed.iv)).not.toBe(toHex(second!.sealed.iv));
    expect(toHex(first!.sealed.ciphertext)).not.toBe(toHex(second!.sealed.ciphertext));

    await put(project, { endpoint: "https://otlp.example.com", headers: [{ name: "X-One", value: "same-value-twice" }] });
    const [again] = await storedSealed(project);
    expect(toHex(again!.sealed.iv)).not.toBe(toHex(first!.sealed.iv));
    expect(toHex(again!.sealed.ciphertext)).not.toBe(toHex(first!.sealed.ciphertext));
  });

  it("the same cipher seals the same value differently each time, and opens each", async () => {
    const cipher = await HeaderCipher.forProject("p-sealtest", MASTER_KEY, null);
    const a = await cipher.seal({ exportId: "default", headerName: "X-Api-Key", origin: ORIGIN }, "value");
    const b = await cipher.seal({ exportId: "default", headerName: "X-Api-Key", origin: ORIGIN }, "value");
    expect(toHex(a.iv)).not.toBe(toHex(b.iv));
    expect(await plain(cipher.open({ exportId: "default", headerName: "X-Api-Key", origin: ORIGIN }, a))).toBe("value");
    expect(await plain(cipher.open({ exportId: "default", headerName: "x-api-key", origin: ORIGIN }, b))).toBe("value"); // header names are case-insensitive
    expect(cipher.needsReseal({ exportId: "default", headerName: "x", origin: ORIGIN }, a)).toBe(false);
  });
});

describe("a ciphertext does not open anywhere else", () => {
  it("copied to another project's object: the object cannot open it and sends nothing", async () => {
    const source = await createProject();
    const target = await createProject();
    await put(source, { endpoint: "https://otlp.example.com", headers: [{ name: "X-Api-Key", value: "belongs-to-source-only" }] });
    await put(target, { endpoint: "https://otlp.example.com", headers: [{ name: "X-Api-Key", value: "target-own-value" }] });
    const [copied] = await storedSealed(source);
    await insertSealed(target, copied!.name, copied!.sealed);

    const targetCipher = await HeaderCipher.forProject(target, MASTER_KEY, null);
    await expectUnreadable(targetCipher.open({ exportId: "default", headerName: copied!.name, origin: ORIGIN }, copied!.sealed), "belongs-to-source-only");

    const r = await call("POST", `${exportPath(target)}/test`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: false, classification: "credentials_unreadable", http_status: null });
    expect(r.text).not.toContain("belongs-to-source-only");
    expect(fetchSpy).not.toHaveBeenCalled();
    // The source still opens its own.
    const sourceCipher = await HeaderCipher.forProject(source, MASTER_KEY, null);
    expect(await plain(sourceCipher.open({ exportId: "default", headerName: copied!.name, origin: ORIGIN }, copied!.sealed))).toBe("belongs-to-source-only");
  });

  it("moved to another header name of the same project: it fails to open", async () => {
    const project = await createProject();
    await put(project, { endpoint: "https://otlp.example.com", headers: [{ name: "X-Api-Key", value: "bound-to-x-api-key" }] });
    const [stored] = await storedSealed(project);
    const cipher = await HeaderCipher.forProject(project, MASTER_KEY, null);
    await expectUnreadable(cipher.open({ exportId: "default", headerName: "Authorization", origin: ORIGIN }, stored!.sealed), "bound-to-x-api-key");

    await insertSealed(project, "Authorization", stored!.sealed);
    const r = await call("POST", `${exportPath(project)}/test`);
    expect(r.body).toMatchObject({ ok: false, classification: "credentials_unreadable" });
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it("a tampered IV, ciphertext, tag or key version fails to open", async () => {
    const cipher = await HeaderCipher.forProject("p-tamper01", MASTER_KEY, null);
    const sealed = await cipher.seal({ exportId: "default", headerName: "X-Api-Key", origin: ORIGIN }, "tamper-target-value");
    const last = sealed.ciphertext.length - 1;
    const tampered: SealedValue[] = [
      { ...sealed, iv: flipBit(sealed.iv, 0) },
      { ...sealed, ciphertext: flipBit(sealed.ciphertext, 0) },
      { ...sealed, ciphertext: flipBit(sealed.ciphertext, last) }, // the GCM tag
      { ...sealed, ciphertext: sealed.ciphertext.slice(0, last) },
      { ...sealed, keyVersion: "0000000000000000" },
    ];
    for (const t of tampered) await expectUnreadable(cipher.open({ exportId: "default", headerName: "X-Api-Key", origin: ORIGIN }, t), "tamper-target-value");
    expect(await plain(cipher.open({ exportId: "default", headerName: "X-Api-Key", origin: ORIGIN }, sealed))).toBe("tamper-target-value");
  });

  it("a value sealed under a key the object no longer has fails closed, without a request", async () => {
    const project = await createProject();
    await put(project, { endpoint: "https://otlp.example.com" });
    const retired = crypto.getRandomValues(new Uint8Array(32));
    const old = await HeaderCipher.forProject(project, retired, null);
    await insertSealed(project, "X-Api-Key", await old.seal({ exportId: "default", headerName: "X-Api-Key", origin: ORIGIN }, "sealed-under-retired-key"));
    const r = await call("POST", `${exportPath(project)}/test`);
    expect(r.body).toMatchObject({ ok: false, classification: "credentials_unreadable" });
    expect(r.text).not.toContain("sealed-under-retired-key");
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

describe("rotation of HEADER_ENCRYPTION_KEY", () => {
  it("values sealed under the previous key open when it is given as previous, and need re-sealing", async () => {
    const oldMaster = crypto.getRandomValues(new Uint8Array(32));
    const newMaster = crypto.getRandomValues(new Uint8Array(32));
    const before = await HeaderCipher.forProject("p-rotate01", oldMaster, null);
    const sealed = await before.seal({ exportId: "default", headerName: "Authorization", origin: ORIGIN }, "Bearer rotate-me-123");

    const during = await HeaderCipher.forProject("p-rotate01", newMaster, oldMaster);
    expect(during.currentVersion).not.toBe(sealed.keyVersion);
    expect(await plain(during.open({ exportId: "default", headerName: "Authorization", origin: ORIGIN }, sealed))).toBe("Bearer rotate-me-123");
    expect(during.needsReseal({ exportId: "default", headerName: "x", origin: ORIGIN }, sealed)).toBe(true);

    const resealed = await during.seal({ exportId: "default", headerName: "Authorization", origin: ORIGIN }, await plain(during.open({ exportId: "default", headerName: "Authorization", origin: ORIGIN }, sealed)));
    expect(resealed.keyVersion).toBe(during.currentVersion);
    expect(during.needsReseal({ exportId: "default", headerName: "x", origin: ORIGIN }, resealed)).toBe(false);

    // Once the previous key is dropped, only re-sealed values open.
    const after = await HeaderCipher.forProject("p-rotate01", newMaster, null);
    expect(await plain(after.open({ exportId: "default", headerName: "Authorization", origin: ORIGIN }, resealed))).toBe("Bearer rotate-me-123");
    await expectUnreadable(after.open({ exportId: "default", headerName: "Authorization", origin: ORIGIN }, sealed), "rotate-me-123");
  });

  it("the previous key does not open values of another project", async () => {
    const oldMaster = crypto.getRandomValues(new Uint8Array(32));
    const newMaster = crypto.getRandomValues(new Uint8Array(32));
    const sealed = await (await HeaderCipher.forProject("p-rotate02", oldMaster, null)).seal({ exportId: "default", headerName: "X-Api-Key", origin: ORIGIN }, "v");
    const other = await HeaderCipher.forProject("p-rotate03", newMaster, oldMaster);
    await expectUnreadable(other.open({ exportId: "default", headerName: "X-Api-Key", origin: ORIGIN }, sealed));
  });
});

describe("durability", () => {
  it("configuration and credentials survive evictDurableObject", async () => {
    const project = await createProject();
    const stub = projectStub(project);
    await put(project, {
      endpoint: "https://otlp.example.com/otlp",
      destination: "datadog",
      histogram_bounds_ms: [1, 10, 100],
      headers: [
        { name: "DD-API-KEY", value: "survives-eviction-1" },
        { name: "X-Other", value: "survives-eviction-2" },
      ],
    });
    const before = await call("GET", exportPath(project));
    await evictDurableObject(stub);
    const after = await call("GET", exportPath(project));
    expect(after.body).toEqual(before.body);
    expect(after.body).toMatchObject({ configured: true, destination: "datadog", temporality: "delta", histogram_bounds_ms: [1, 10, 100] });

    // A fresh instance still opens the values: Test Connection sends them.
    const tested = await call("POST", `${exportPath(project)}/test`);
    expect(tested.body.ok).toBe(true);
    expect(fetchSpy).toHaveBeenCalledTimes(1);
    const sent = new Headers(fetchSpy.mock.calls[0]![1]?.headers);
    expect(sent.get("dd-api-key")).toBe("survives-eviction-1");
    expect(sent.get("x-other")).toBe("survives-eviction-2");
  });
});
