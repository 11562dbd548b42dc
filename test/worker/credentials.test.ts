/**
 * Stored header values go only to the origin they were saved for (README "Security model"):
 * through the API (PUT, PATCH, Test Connection), cryptographically (the origin is in the AES-GCM
 * additional data), for values stored before that rule (migrated on load), and across a key
 * rotation (re-sealed on every alarm, data or not; Test Connection changes nothing).
 */
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HeaderCipher, type SealedValue } from "../../src/crypto/header-crypto";
import { newNamespace, receiverUrl, requestCount, requests } from "../receiver/client";
import { call, createIngestKey, createProject, objectDump, projectStub } from "./helpers";

const bytesOf = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const CURRENT = bytesOf(env.HEADER_ENCRYPTION_KEY);
const PREVIOUS = bytesOf(env.HEADER_ENCRYPTION_KEY_PREVIOUS!);
const exportPath = (p: string) => `/v1/projects/${p}/metrics-export`;
/** The same receiver under another host name: a different origin (an attacker's, for these tests). */
const otherOriginUrl = (ns: string) => receiverUrl(ns).replace("127.0.0.1", "localhost");

async function exporting(headers = [
  { name: "Authorization", value: "Bearer origin-bound-token-1" },
  { name: "DD-API-KEY", value: "origin-bound-key-22222" },
]) {
  const project = await createProject();
  const ns = newNamespace();
  const put = await call("PUT", exportPath(project), { body: { endpoint: receiverUrl(ns), headers } });
  expect(put.status, put.text).toBe(200);
  return { project, ns };
}

async function postRun(project: string): Promise<void> {
  const hostId = `host-${crypto.randomUUID().slice(0, 8)}`;
  const { key } = await createIngestKey(hostId);
  const sample = { type: "run", project_id: project, app_name: "my-model", region: "us-east-1", time: Date.now(), execution_ms: 5, queue_ms: 1, response_ms: 6, success: true };
  const r = await call("POST", "/v1/samples", { token: key, body: { host_id: hostId, batch_id: crypto.randomUUID(), samples: [sample] } });
  expect(r.status).toBe(202);
}

interface Row {
  name: string;
  origin: string | null;
  key_version: string;
  iv: ArrayBuffer;
  ciphertext: ArrayBuffer;
}

function headerRows(project: string): Promise<Row[]> {
  return runInDurableObject(projectStub(project), (_i, state) =>
    state.storage.sql.exec<Row & Record<string, SqlStorageValue>>("SELECT name, origin, key_version, iv, ciphertext FROM export_headers ORDER BY position").toArray(),
  );
}

function writeRows(project: string, rows: { name: string; origin: string | null; sealed: SealedValue }[]): Promise<void> {
  return runInDurableObject(projectStub(project), (_i, state) => {
    state.storage.sql.exec("DELETE FROM export_headers");
    rows.forEach((r, i) =>
      state.storage.sql.exec(
        "INSERT INTO export_headers (export_id, name, position, origin, key_version, iv, ciphertext) VALUES ('default', ?, ?, ?, ?, ?, ?)",
        r.name,
        i,
        r.origin,
        r.sealed.keyVersion,
        r.sealed.iv,
        r.sealed.ciphertext,
      ),
    );
  });
}

/** How values were sealed before the origin binding (AAD: project, header name, key version), written out independently. */
async function sealLegacy(project: string, master: Uint8Array, name: string, value: string): Promise<SealedValue> {
  const base = await crypto.subtle.importKey("raw", master, "HKDF", false, ["deriveKey"]);
  const key = await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new TextEncoder().encode("metrics-export/header-encryption/v1"), info: new TextEncoder().encode(`project:${project}`) },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt"],
  );
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", master));
  const version = Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const aad = new TextEncoder().encode(`${project}\n${name.toLowerCase()}\n${version}`);
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad }, key, new TextEncoder().encode(value)));
  return { keyVersion: version, iv, ciphertext };
}

async function currentVersion(project: string): Promise<string> {
  return (await HeaderCipher.forProject(project, CURRENT, null)).currentVersion;
}

function sentHeaders(request: { headers: Record<string, string> }): Record<string, string | undefined> {
  return { authorization: request.headers.authorization, "dd-api-key": request.headers["dd-api-key"] };
}

describe("a stored header value is only sent to the origin it was saved for", () => {
  it("PATCH to another origin without the values: 400 header_values_required naming them, nothing changes, nothing is sent", async () => {
    const { project, ns } = await exporting();
    const attacker = newNamespace();
    const before = await objectDump(project);
    const r = await call("PATCH", exportPath(project), { body: { endpoint: otherOriginUrl(attacker) } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("header_values_required");
    expect(r.body.error.message).toContain('"Authorization", "DD-API-KEY"');
    expect(r.body.error.message).toContain(new URL(otherOriginUrl(attacker)).origin);
    expect(await objectDump(project)).toBe(before);
    expect(await requestCount(attacker)).toBe(0);
    expect(await requestCount(ns)).toBe(0);
  });

  it("PUT to another origin keeping one value by name: 400 naming that header; with every value given it saves and pushes there", async () => {
    const { project } = await exporting();
    const target = newNamespace();
    const before = await objectDump(project);
    const kept = await call("PUT", exportPath(project), {
      body: { endpoint: otherOriginUrl(target), headers: [{ name: "Authorization" }, { name: "DD-API-KEY", value: "new-key-for-new-origin" }] },
    });
    expect(kept.status).toBe(400);
    expect(kept.body.error).toMatchObject({ code: "header_values_required" });
    expect(kept.body.error.message).toContain('"Authorization"');
    expect(kept.body.error.message).not.toContain("DD-API-KEY");
    expect(await objectDump(project)).toBe(before);

    const retyped = await call("PUT", exportPath(project), {
      body: { endpoint: otherOriginUrl(target), headers: [{ name: "Authorization", value: "Bearer retyped" }, { name: "DD-API-KEY", value: "new-key-for-new-origin" }] },
    });
    expect(retyped.status, retyped.text).toBe(200);
    await postRun(project);
    expect((await call("POST", `${exportPath(project)}/flush`)).body.ok).toBe(true);
    const [sent] = await requests(target);
    expect(sentHeaders(sent!)).toEqual({ authorization: "Bearer retyped", "dd-api-key": "new-key-for-new-origin" });
  });

  it("a new path on the same origin keeps the stored values without retyping", async () => {
    const { project, ns } = await exporting();
    const moved = newNamespace();
    const r = await call("PATCH", exportPath(project), { body: { endpoint: receiverUrl(moved) } });
    expect(r.status, r.text).toBe(200);
    expect(new URL(receiverUrl(moved)).origin).toBe(new URL(receiverUrl(ns)).origin);
    await postRun(project);
    expect((await call("POST", `${exportPath(project)}/flush`)).body.ok).toBe(true);
    const [sent] = await requests(moved);
    expect(sentHeaders(sent!)).toEqual({ authorization: "Bearer origin-bound-token-1", "dd-api-key": "origin-bound-key-22222" });
  });

  it("Test Connection with an unsaved endpoint on another origin uses no stored value; given values are sent", async () => {
    const { project } = await exporting();
    const attacker = newNamespace();
    for (const body of [{ endpoint: otherOriginUrl(attacker) }, { endpoint: otherOriginUrl(attacker), headers: [{ name: "DD-API-KEY" }] }]) {
      const r = await call("POST", `${exportPath(project)}/test`, { body });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe("header_values_required");
    }
    expect(await requestCount(attacker)).toBe(0);
    const given = await call("POST", `${exportPath(project)}/test`, {
      body: { endpoint: otherOriginUrl(attacker), headers: [{ name: "DD-API-KEY", value: "typed-for-this-test" }] },
    });
    expect(given.body.ok).toBe(true);
    const [sent] = await requests(attacker);
    expect(sentHeaders(sent!)).toEqual({ authorization: undefined, "dd-api-key": "typed-for-this-test" });
  });

  it("a stored value relabelled with another origin in storage cannot be opened for it: the push fails closed", async () => {
    const { project } = await exporting([{ name: "Authorization", value: "Bearer bound-by-aad" }]);
    const attacker = newNamespace();
    await runInDurableObject(projectStub(project), (_i, state) => {
      state.storage.sql.exec("UPDATE export_headers SET origin = ?", new URL(otherOriginUrl(attacker)).origin);
      state.storage.sql.exec("UPDATE export_config SET endpoint = ?", otherOriginUrl(attacker));
    });
    await postRun(project);
    const flush = await call("POST", `${exportPath(project)}/flush`);
    expect(flush.body).toMatchObject({ ok: false, requests: 0, error: { classification: "credentials_unreadable" } });
    expect(flush.text).not.toContain("bound-by-aad");
    expect(await requestCount(attacker)).toBe(0);
  });
});

describe("values stored before the origin binding", () => {
  it("are re-sealed with the endpoint's origin when the object loads, and keep working", async () => {
    const { project, ns } = await exporting([{ name: "X-Api-Key", value: "placeholder" }]);
    await writeRows(project, [{ name: "X-Api-Key", origin: null, sealed: await sealLegacy(project, CURRENT, "X-Api-Key", "legacy-sealed-value") }]);
    await evictDurableObject(projectStub(project));
    await call("GET", exportPath(project)); // the next instance loads

    const [row] = await headerRows(project);
    expect(row!.origin).toBe(new URL(receiverUrl(ns)).origin);
    const cipher = await HeaderCipher.forProject(project, CURRENT, null);
    const sealed = { keyVersion: row!.key_version, iv: new Uint8Array(row!.iv), ciphertext: new Uint8Array(row!.ciphertext) };
    expect(await cipher.open({ exportId: "default", headerName: "X-Api-Key", origin: row!.origin }, sealed)).toEqual({ ok: true, value: "legacy-sealed-value" });

    await postRun(project);
    expect((await call("POST", `${exportPath(project)}/flush`)).body.ok).toBe(true);
    expect((await requests(ns))[0]!.headers["x-api-key"]).toBe("legacy-sealed-value");
  });
});

describe("key rotation (HEADER_ENCRYPTION_KEY_PREVIOUS set)", () => {
  async function sealedUnderPrevious(project: string, origin: string) {
    const previous = await HeaderCipher.forProject(project, PREVIOUS, null);
    return [{ name: "Authorization", origin, sealed: await previous.seal({ exportId: "default", headerName: "Authorization", origin: origin }, "Bearer sealed-under-previous") }];
  }

  it("an enabled export with no series is re-sealed by its next alarm", async () => {
    const { project, ns } = await exporting([{ name: "Authorization", value: "placeholder" }]);
    const origin = new URL(receiverUrl(ns)).origin;
    await writeRows(project, await sealedUnderPrevious(project, origin));
    await runInDurableObject(projectStub(project), (_i, state) => state.storage.setAlarm(Date.now()));
    expect(await runDurableObjectAlarm(projectStub(project))).toBe(true);
    const [row] = await headerRows(project);
    expect(row!.key_version).toBe(await currentVersion(project));
    // Opens with the current key alone, as after HEADER_ENCRYPTION_KEY_PREVIOUS is removed.
    const currentOnly = await HeaderCipher.forProject(project, CURRENT, null);
    const sealed = { keyVersion: row!.key_version, iv: new Uint8Array(row!.iv), ciphertext: new Uint8Array(row!.ciphertext) };
    expect(await currentOnly.open({ exportId: "default", headerName: "Authorization", origin: origin }, sealed)).toEqual({ ok: true, value: "Bearer sealed-under-previous" });
    expect(await requestCount(ns)).toBe(0); // nothing to push, nothing sent
  });

  it("a disabled export keeps an alarm and is re-sealed by it", async () => {
    const { project, ns } = await exporting([{ name: "Authorization", value: "placeholder" }]);
    expect((await call("PATCH", exportPath(project), { body: { enabled: false } })).status).toBe(200);
    await writeRows(project, await sealedUnderPrevious(project, new URL(receiverUrl(ns)).origin));
    expect(await runInDurableObject(projectStub(project), (_i, state) => state.storage.getAlarm())).not.toBeNull();
    await runInDurableObject(projectStub(project), (_i, state) => state.storage.setAlarm(Date.now()));
    expect(await runDurableObjectAlarm(projectStub(project))).toBe(true);
    expect((await headerRows(project))[0]!.key_version).toBe(await currentVersion(project));
  });

  it("Test Connection opens a value sealed under the previous key, sends it, and changes no state", async () => {
    const { project, ns } = await exporting([{ name: "Authorization", value: "placeholder" }]);
    await writeRows(project, await sealedUnderPrevious(project, new URL(receiverUrl(ns)).origin));
    const before = await objectDump(project);
    const r = await call("POST", `${exportPath(project)}/test`);
    expect(r.body.ok).toBe(true);
    expect((await requests(ns))[0]!.headers.authorization).toBe("Bearer sealed-under-previous");
    expect(await objectDump(project)).toBe(before);
  });
});

