/**
 * Encryption of customers' export header values (AES-GCM-256 via WebCrypto).
 *
 * - Per-project key: HKDF-SHA-256 from HEADER_ENCRYPTION_KEY with the project id as `info`, so a
 *   leaked project key exposes one project only.
 * - Fresh random 96-bit IV per value.
 * - Additional authenticated data binds project id, export id, header name (lower-cased), the
 *   origin (scheme, host, port) the value was saved for, and key version: a ciphertext copied to
 *   another project, export or header, relabelled to another key, or presented for another origin,
 *   fails to open.
 * - Values sealed before those bindings (origin `null`: AAD without it; export id `null`: AAD v2,
 *   before a project could have several exports) still open, and are re-sealed with both by the
 *   object (credentials.ts) on load and on every alarm.
 * - Key version: the first 8 bytes (hex) of SHA-256 of the master key. It identifies which master
 *   sealed a value so rotation (HEADER_ENCRYPTION_KEY_PREVIOUS) can open old values and re-seal them.
 */

export interface SealedValue {
  keyVersion: string;
  iv: Uint8Array;
  ciphertext: Uint8Array;
}

/** Opening a value: the plaintext, or why it cannot be opened (never the value). */
export type Opened = { ok: true; value: string } | { ok: false; message: string };

const HKDF_SALT = new TextEncoder().encode("metrics-export/header-encryption/v1");
const IV_BYTES = 12;

interface ProjectKey {
  version: string;
  key: CryptoKey;
}

async function keyVersion(master: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", master));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function deriveProjectKey(master: Uint8Array, projectId: string): Promise<ProjectKey> {
  const base = await crypto.subtle.importKey("raw", master, "HKDF", false, ["deriveKey"]);
  const key = await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: HKDF_SALT, info: new TextEncoder().encode(`project:${projectId}`) },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
  return { version: await keyVersion(master), key };
}

/** Where a value may be used: its export, header and origin. */
export interface SealBinding {
  /** null: sealed before a project could have several exports (AAD v2; open only, never sealed). */
  exportId: string | null;
  headerName: string;
  /** null: sealed before the origin binding (AAD v1; open only, never sealed). */
  origin: string | null;
}

function aad(projectId: string, b: SealBinding, version: string): Uint8Array {
  const name = b.headerName.toLowerCase();
  if (b.origin === null) return new TextEncoder().encode(`${projectId}\n${name}\n${version}`);
  if (b.exportId === null) return new TextEncoder().encode(`v2\n${projectId}\n${name}\n${b.origin}\n${version}`);
  return new TextEncoder().encode(`v3\n${projectId}\n${b.exportId}\n${name}\n${b.origin}\n${version}`);
}

/** Seals and opens one project's header values; derive once per project and reuse. */
export class HeaderCipher {
  private constructor(
    readonly projectId: string,
    private readonly current: ProjectKey,
    private readonly previous: ProjectKey | null,
  ) {}

  static async forProject(projectId: string, master: Uint8Array, previousMaster: Uint8Array | null): Promise<HeaderCipher> {
    const current = await deriveProjectKey(master, projectId);
    const previous = previousMaster ? await deriveProjectKey(previousMaster, projectId) : null;
    return new HeaderCipher(projectId, current, previous);
  }

  get currentVersion(): string {
    return this.current.version;
  }

  /** Seals a value for one export's header, to be sent only to `origin` (`new URL(endpoint).origin`). */
  async seal(binding: { exportId: string; headerName: string; origin: string }, value: string): Promise<SealedValue> {
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const ciphertext = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: aad(this.projectId, binding, this.current.version) },
      this.current.key,
      new TextEncoder().encode(value),
    );
    return { keyVersion: this.current.version, iv, ciphertext: new Uint8Array(ciphertext) };
  }

  /** Opens a value sealed with `binding`. */
  async open(binding: SealBinding, sealed: SealedValue): Promise<Opened> {
    const headerName = binding.headerName;
    const key =
      sealed.keyVersion === this.current.version
        ? this.current
        : sealed.keyVersion === this.previous?.version
          ? this.previous
          : null;
    if (key === null) {
      return { ok: false, message: `header "${headerName}" was sealed with an encryption key that is no longer configured (key version ${sealed.keyVersion})` };
    }
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: sealed.iv, additionalData: aad(this.projectId, binding, key.version) },
        key.key,
        sealed.ciphertext,
      );
      return { ok: true, value: new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(plain) };
    } catch {
      return { ok: false, message: `header "${headerName}" could not be decrypted (tampered with, or sealed for another project, export or origin)` };
    }
  }

  /** True when a value was sealed under the previous key, or before the origin or export binding, and should be re-sealed. */
  needsReseal(binding: SealBinding, sealed: SealedValue): boolean {
    return binding.origin === null || binding.exportId === null || sealed.keyVersion !== this.current.version;
  }
}
