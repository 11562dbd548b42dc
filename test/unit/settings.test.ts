/** settingsOf: a missing or malformed setting is a 500 "misconfigured" naming it, never a fallback. */
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/errors";
import { settingsOf, type RawEnv } from "../../src/settings";

const KEY = btoa(String.fromCharCode(...Array.from({ length: 32 }, (_, i) => i)));
const OTHER_KEY = btoa(String.fromCharCode(...Array.from({ length: 32 }, (_, i) => 255 - i)));

const valid = (): RawEnv => ({ ADMIN_TOKEN: "admin-token-0123456789abcdef", HEADER_ENCRYPTION_KEY: KEY });

function misconfiguration(env: RawEnv): ApiError {
  try {
    settingsOf(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error("expected settingsOf to throw");
}

describe("settingsOf with a valid environment", () => {
  it("parses the secrets and applies the defaults", () => {
    const s = settingsOf(valid());
    expect(s.adminToken).toBe("admin-token-0123456789abcdef");
    expect(Array.from(s.encryptionKey)).toEqual(Array.from({ length: 32 }, (_, i) => i));
    expect(s.previousEncryptionKey).toBeNull();
    expect(s.allowPrivateEndpoints).toBe(false);
    expect(s.exportIntervalMs).toBe(60_000);
    expect(s.retryBaseMs).toBe(1000);
    expect(s.requestTimeoutMs).toBe(10_000);
  });

  it("reads the optional settings", () => {
    const s = settingsOf({
      ...valid(),
      HEADER_ENCRYPTION_KEY_PREVIOUS: OTHER_KEY,
      ALLOW_PRIVATE_ENDPOINTS: "true",
      EXPORT_INTERVAL_SECONDS: "15",
      EXPORT_RETRY_BASE_MS: "5",
      EXPORT_REQUEST_TIMEOUT_MS: "250",
    });
    expect(Array.from(s.previousEncryptionKey!)).toEqual(Array.from({ length: 32 }, (_, i) => 255 - i));
    expect(s.allowPrivateEndpoints).toBe(true);
    expect(s.exportIntervalMs).toBe(15_000);
    expect(s.retryBaseMs).toBe(5);
    expect(s.requestTimeoutMs).toBe(250);
  });

  it('treats empty optional settings as absent and ALLOW_PRIVATE_ENDPOINTS "false" as false', () => {
    const s = settingsOf({ ...valid(), HEADER_ENCRYPTION_KEY_PREVIOUS: "", ALLOW_PRIVATE_ENDPOINTS: "false", EXPORT_INTERVAL_SECONDS: "" });
    expect(s.previousEncryptionKey).toBeNull();
    expect(s.allowPrivateEndpoints).toBe(false);
    expect(s.exportIntervalMs).toBe(60_000);
  });

  it("accepts a key with a trailing newline (as pasted from `openssl rand -base64 32`)", () => {
    expect(settingsOf({ ...valid(), HEADER_ENCRYPTION_KEY: `${KEY}\n` }).encryptionKey).toHaveLength(32);
  });
});

describe("settingsOf with a broken environment → 500 misconfigured naming the setting", () => {
  it.each<[string, RawEnv, string]>([
    ["ADMIN_TOKEN missing", { HEADER_ENCRYPTION_KEY: KEY }, "ADMIN_TOKEN"],
    ["ADMIN_TOKEN empty", { ...valid(), ADMIN_TOKEN: "" }, "ADMIN_TOKEN"],
    ["ADMIN_TOKEN too short", { ...valid(), ADMIN_TOKEN: "short" }, "ADMIN_TOKEN"],
    ["ADMIN_TOKEN with a space", { ...valid(), ADMIN_TOKEN: "admin token 0123456789" }, "ADMIN_TOKEN"],
    ["HEADER_ENCRYPTION_KEY missing", { ADMIN_TOKEN: "admin-token-0123456789abcdef" }, "HEADER_ENCRYPTION_KEY"],
    ["HEADER_ENCRYPTION_KEY empty", { ...valid(), HEADER_ENCRYPTION_KEY: "" }, "HEADER_ENCRYPTION_KEY"],
    ["HEADER_ENCRYPTION_KEY not base64", { ...valid(), HEADER_ENCRYPTION_KEY: "not base64 at all!!" }, "HEADER_ENCRYPTION_KEY"],
    ["HEADER_ENCRYPTION_KEY base64url", { ...valid(), HEADER_ENCRYPTION_KEY: "_-_-" + KEY.slice(4) }, "HEADER_ENCRYPTION_KEY"],
    ["HEADER_ENCRYPTION_KEY of 16 bytes", { ...valid(), HEADER_ENCRYPTION_KEY: btoa("0123456789abcdef") }, "HEADER_ENCRYPTION_KEY"],
    ["HEADER_ENCRYPTION_KEY of 33 bytes", { ...valid(), HEADER_ENCRYPTION_KEY: btoa("x".repeat(33)) }, "HEADER_ENCRYPTION_KEY"],
    ["HEADER_ENCRYPTION_KEY_PREVIOUS malformed", { ...valid(), HEADER_ENCRYPTION_KEY_PREVIOUS: "%%%" }, "HEADER_ENCRYPTION_KEY_PREVIOUS"],
    ["HEADER_ENCRYPTION_KEY_PREVIOUS wrong length", { ...valid(), HEADER_ENCRYPTION_KEY_PREVIOUS: btoa("short") }, "HEADER_ENCRYPTION_KEY_PREVIOUS"],
    ["ALLOW_PRIVATE_ENDPOINTS not a boolean", { ...valid(), ALLOW_PRIVATE_ENDPOINTS: "yes" }, "ALLOW_PRIVATE_ENDPOINTS"],
    ["EXPORT_INTERVAL_SECONDS not a number", { ...valid(), EXPORT_INTERVAL_SECONDS: "sixty" }, "EXPORT_INTERVAL_SECONDS"],
    ["EXPORT_INTERVAL_SECONDS negative", { ...valid(), EXPORT_INTERVAL_SECONDS: "-60" }, "EXPORT_INTERVAL_SECONDS"],
    ["EXPORT_INTERVAL_SECONDS fractional", { ...valid(), EXPORT_INTERVAL_SECONDS: "1.5" }, "EXPORT_INTERVAL_SECONDS"],
    ["EXPORT_INTERVAL_SECONDS zero", { ...valid(), EXPORT_INTERVAL_SECONDS: "0" }, "EXPORT_INTERVAL_SECONDS"],
    ["EXPORT_INTERVAL_SECONDS over an hour", { ...valid(), EXPORT_INTERVAL_SECONDS: "3601" }, "EXPORT_INTERVAL_SECONDS"],
    ["EXPORT_RETRY_BASE_MS not a number", { ...valid(), EXPORT_RETRY_BASE_MS: "1s" }, "EXPORT_RETRY_BASE_MS"],
    ["EXPORT_RETRY_BASE_MS too large", { ...valid(), EXPORT_RETRY_BASE_MS: "60001" }, "EXPORT_RETRY_BASE_MS"],
    ["EXPORT_REQUEST_TIMEOUT_MS too small", { ...valid(), EXPORT_REQUEST_TIMEOUT_MS: "99" }, "EXPORT_REQUEST_TIMEOUT_MS"],
  ])("%s", (_label, env, setting) => {
    const err = misconfiguration(env);
    expect(err.status).toBe(500);
    expect(err.code).toBe("misconfigured");
    expect(err.message).toContain(setting);
  });

  it("never echoes a secret's value in the message", () => {
    const secretish = btoa("sixteen-byte-key");
    expect(misconfiguration({ ...valid(), HEADER_ENCRYPTION_KEY: secretish }).message).not.toContain(secretish);
    expect(misconfiguration({ ...valid(), ADMIN_TOKEN: "tiny-secret" }).message).not.toContain("tiny-secret");
  });

  it("fails the same way on every call for the same environment (no silent recovery)", () => {
    const env: RawEnv = { ADMIN_TOKEN: "admin-token-0123456789abcdef" };
    const first = misconfiguration(env);
    const second = misconfiguration(env);
    expect(second.message).toBe(first.message);
    expect(second.status).toBe(500);
  });
});
