/**
 * The export's stored header values: sealing them on save, opening them for a request, re-sealing
 * them after a key rotation. One rule holds everywhere (README "Security model"): a stored value is
 * only ever sent to the origin (scheme, host, port) it was saved for. Changing the endpoint to
 * another origin needs every value typed again; the origin is also part of the AES-GCM additional
 * data, so a value cannot even be opened for another origin.
 */
import type { HeaderCipher, SealBinding } from "../src/crypto/header-crypto";
import type { ErrorBody } from "../src/errors";
import type { HeaderInput } from "../src/validation/export-config";
import type { ProjectStore, SealedHeader } from "./store";

export interface OpenHeader {
  name: string;
  value: string;
}

/** How resolving the headers of a save or a request came out. */
export type Resolution<T> =
  | { kind: "ok"; value: T }
  /** Stored values that would go to another origin than they were saved for: they must be given again. */
  | { kind: "values_required"; names: string[]; from: string; to: string }
  /** A header given without value that has no stored value at all. */
  | { kind: "missing_value"; index: number; name: string }
  | { kind: "unreadable"; name: string; message: string };

export function originOf(endpoint: string): string {
  return new URL(endpoint).origin;
}

/** One export's header values (the AES-GCM additional data binds the export id too). */
export class Credentials {
  constructor(
    private readonly store: ProjectStore,
    private readonly cipher: () => Promise<HeaderCipher>,
    readonly exportId: string,
  ) {}

  names(): string[] {
    return this.#stored().map((h) => h.name);
  }

  #stored(): SealedHeader[] {
    return this.store.headers(this.exportId);
  }

  async #seal(cipher: HeaderCipher, name: string, origin: string, value: string): Promise<SealedHeader> {
    return { name, origin, exportBound: true, sealed: await cipher.seal({ exportId: this.exportId, headerName: name, origin }, value) };
  }

  #open(cipher: HeaderCipher, h: SealedHeader): Promise<Resolution<string>> {
    return openOne(cipher, this.#binding(h), h);
  }

  #binding(h: SealedHeader) {
    return { exportId: h.exportBound ? this.exportId : null, headerName: h.name, origin: h.origin };
  }

  /**
   * The header list to store when the configuration moves from `fromOrigin` (null: none saved yet)
   * to `toOrigin`. `inputs` null (a PATCH without headers) keeps the stored list — allowed only
   * while the origin stays the same. A header without value keeps its stored value under the same
   * rule. Returns `value: null` when the stored rows stay as they are.
   */
  async forSave(inputs: readonly HeaderInput[] | null, fromOrigin: string | null, toOrigin: string): Promise<Resolution<SealedHeader[] | null>> {
    const stored = this.#stored();
    const savedFor = (h: SealedHeader) => h.origin ?? fromOrigin;
    if (inputs === null) {
      const moving = stored.filter((h) => savedFor(h) !== toOrigin).map((h) => h.name);
      return moving.length > 0 ? valuesRequired(moving, fromOrigin, toOrigin) : { kind: "ok", value: null };
    }
    const byName = new Map(stored.map((h) => [h.name.toLowerCase(), h]));
    const cipher = await this.cipher();
    const out: SealedHeader[] = [];
    const moving: string[] = [];
    for (const [index, h] of inputs.entries()) {
      if (h.value !== undefined) {
        out.push(await this.#seal(cipher, h.name, toOrigin, h.value));
        continue;
      }
      const kept = byName.get(h.name.toLowerCase());
      if (!kept) return { kind: "missing_value", index, name: h.name };
      if (savedFor(kept) !== toOrigin) {
        moving.push(h.name);
        continue;
      }
      if (kept.name === h.name && !cipher.needsReseal(this.#binding(kept), kept.sealed)) {
        out.push(kept);
        continue;
      }
      // The AAD binds the header name, origin and key version: re-seal under the new spelling / current key.
      const opened = await this.#open(cipher, kept);
      if (opened.kind !== "ok") return opened;
      out.push(await this.#seal(cipher, h.name, toOrigin, opened.value));
    }
    if (moving.length > 0) return valuesRequired(moving, fromOrigin, toOrigin);
    return { kind: "ok", value: out };
  }

  /**
   * The header values for one request to `toOrigin`: `inputs` (Test Connection's unsaved headers;
   * a header without value takes the stored one) or, when undefined, every stored header. Changes
   * nothing (no re-sealing here: that is the alarm's job).
   */
  async forSend(inputs: readonly HeaderInput[] | undefined, savedOrigin: string | null, toOrigin: string): Promise<Resolution<OpenHeader[]>> {
    const stored = this.#stored();
    const savedFor = (h: SealedHeader) => h.origin ?? savedOrigin;
    const wanted: { index: number; name: string; value?: string; kept?: SealedHeader }[] = [];
    if (inputs === undefined) {
      stored.forEach((kept, index) => wanted.push({ index, name: kept.name, kept }));
    } else {
      const byName = new Map(stored.map((h) => [h.name.toLowerCase(), h]));
      for (const [index, h] of inputs.entries()) {
        if (h.value !== undefined) {
          wanted.push({ index, name: h.name, value: h.value });
          continue;
        }
        const kept = byName.get(h.name.toLowerCase());
        if (!kept) return { kind: "missing_value", index, name: h.name };
        wanted.push({ index, name: h.name, kept });
      }
    }
    const moving = wanted.filter((w) => w.kept !== undefined && savedFor(w.kept) !== toOrigin).map((w) => w.name);
    if (moving.length > 0) return valuesRequired(moving, savedOrigin, toOrigin);
    const cipher = await this.cipher();
    const out: OpenHeader[] = [];
    for (const w of wanted) {
      if (w.value !== undefined) {
        out.push({ name: w.name, value: w.value });
        continue;
      }
      const opened = await this.#open(cipher, w.kept!);
      if (opened.kind !== "ok") return opened;
      out.push({ name: w.name, value: opened.value });
    }
    return { kind: "ok", value: out };
  }

  /**
   * Re-seals, under the current key and with their origin, the values sealed under the previous
   * key or before the origin binding. Values that cannot be opened stay as they are (a push then
   * reports them as unreadable). Returns the new list to store, or null when nothing changed.
   */
  async resealed(configOrigin: string | null): Promise<SealedHeader[] | null> {
    const stored = this.#stored();
    if (stored.length === 0) return null;
    const cipher = await this.cipher();
    let changed = false;
    const out: SealedHeader[] = [];
    for (const h of stored) {
      const origin = h.origin ?? configOrigin;
      if (!cipher.needsReseal(this.#binding(h), h.sealed) || origin === null) {
        out.push(h);
        continue;
      }
      const opened = await this.#open(cipher, h);
      if (opened.kind !== "ok") {
        out.push(h);
        continue;
      }
      out.push(await this.#seal(cipher, h.name, origin, opened.value));
      changed = true;
    }
    return changed ? out : null;
  }
}

function valuesRequired(names: string[], from: string | null, to: string): Resolution<never> {
  return { kind: "values_required", names, from: from ?? "(none)", to };
}

async function openOne(cipher: HeaderCipher, binding: SealBinding, h: SealedHeader): Promise<Resolution<string>> {
  const opened = await cipher.open(binding, h.sealed);
  return opened.ok ? { kind: "ok", value: opened.value } : { kind: "unreadable", name: h.name, message: opened.message };
}

/** A resolution that stops a save or a Test Connection, as the API error it is. */
export function resolutionError(r: Exclude<Resolution<unknown>, { kind: "ok" }>, during: "save" | "test"): ErrorBody {
  switch (r.kind) {
    case "missing_value":
      return { status: 400, code: "invalid_request", message: `headers[${r.index}].value: required, no value is stored for header "${r.name}".` };
    case "values_required": {
      const names = r.names.map((n) => `"${n}"`).join(", ");
      return {
        status: 400,
        code: "header_values_required",
        message:
          `headers: stored header values are only sent to the origin they were saved for (${r.from}); ` +
          `to ${during === "save" ? "save an endpoint on" : "test"} ${r.to}, enter the value${r.names.length > 1 ? "s" : ""} of ${names} again.`,
      };
    }
    case "unreadable":
      return { status: 400, code: "invalid_request", message: `headers: the stored value of "${r.name}" cannot be decrypted; enter it again.` };
  }
}
