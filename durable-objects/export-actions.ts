/**
 * The two things a user asks of an export by hand: "Send now" (a real push outside the schedule,
 * limited per export) and Test Connection (an empty OTLP request to possibly unsaved settings,
 * limited per project). The object wires them to RPC; the logic is src/export/connection-test.ts
 * and the pusher's.
 */
import { failed, failure, type Result } from "../src/errors";
import { notSent, testConnection } from "../src/export/connection-test";
import { realTransport } from "../src/export/transport";
import { metricsUrl } from "../src/export/url";
import type { Settings } from "../src/settings";
import type { ConnectionTestInput } from "../src/validation/export-config";
import { originOf, resolutionError } from "./credentials";
import type { ExportCollection } from "./export-collection";
import { exportNotFound, presetHeaderError } from "./export-saves";
import { FIRST_EXPORT_ID } from "./legacy-v3";
import { refusedEndpoint, unreadableFailure } from "./pusher";
import type { ConnectionTestResult, FlushResult } from "./rpc-types";
import type { ProjectStore } from "./store";

export const CONNECTION_TESTS_PER_MINUTE = 10;

export interface ActionDeps {
  exports: ExportCollection;
  store: ProjectStore;
  settings: () => Settings;
  syncAlarm: () => Promise<void>;
}


export class ExportActions {
  #testTimes: number[] = [];

  constructor(private readonly d: ActionDeps) {}

  /**
   * "Send now": a real push outside the schedule; it counts toward pausing like a scheduled one.
   * While a push runs, another Send now joins it; at most EXPORT_FLUSHES_PER_MINUTE (6) a minute
   * per export, 429 beyond.
   */
  async flush(projectId: string, ref: string | null): Promise<Result<FlushResult>> {
    const found = this.d.exports.find(ref);
    if (found === null) return ref === null ? failure(409, "export_not_configured", "Metrics export is not configured for this project.") : failed(exportNotFound(ref));
    const { id, config } = found;
    if (this.d.store.status(id).pausedAt !== null) {
      return failure(409, "export_paused", "Export is paused after repeated failures; fix the destination, then POST …/resume.");
    }
    if (!config.enabled) return failure(409, "export_not_enabled", 'Export is disabled; enable it (PATCH {"enabled": true}) to send.');
    const slot = this.d.exports.slot(id);
    const nowMs = Date.now();
    const limit = this.d.settings().flushesPerMinute;
    slot.flushTimes = slot.flushTimes.filter((t) => nowMs - t < 60_000);
    if (slot.flushTimes.length >= limit) {
      return failure(429, "rate_limited", `At most ${limit} "Send now" a minute per export (pushes run every interval anyway); try again shortly.`);
    }
    slot.flushTimes.push(nowMs);
    const summary = await slot.pusher.push(projectId);
    // A scheduled push that came due meanwhile waited for this one (one push at a time per export).
    await this.d.syncAlarm();
    if (summary === "abandoned") {
      return { ok: true, value: { ok: false, abandoned: true, requests: 0, attempts: 0, data_points: 0, bytes: 0, duration_ms: Date.now() - nowMs } };
    }
    const result: FlushResult = {
      ok: summary.ok,
      requests: summary.requests,
      attempts: summary.attempts,
      data_points: summary.dataPoints,
      bytes: summary.bytes,
      duration_ms: summary.durationMs,
    };
    if (summary.error) {
      const e = summary.error;
      result.error = { http_status: e.httpStatus, classification: e.classification, message: e.message, hint: e.hint };
    }
    return { ok: true, value: result };
  }

  /**
   * Sends one valid OTLP request with no data points to the (possibly unsaved) settings, one try.
   * Never counts toward pausing and changes no state.
   */
  async testConnection(ref: string | null, input: ConnectionTestInput): Promise<Result<ConnectionTestResult>> {
    const found = this.d.exports.find(ref);
    if (found === null && ref !== null) return failed(exportNotFound(ref));
    const nowMs = Date.now();
    this.#testTimes = this.#testTimes.filter((t) => nowMs - t < 60_000);
    if (this.#testTimes.length >= CONNECTION_TESTS_PER_MINUTE) {
      return failure(429, "rate_limited", `At most ${CONNECTION_TESTS_PER_MINUTE} connection tests a minute per project; try again shortly.`);
    }
    const stored = found?.config ?? null;
    const endpoint = input.endpoint ?? stored?.endpoint;
    if (endpoint === undefined) return failure(400, "invalid_request", "endpoint: required, no export is configured yet.");
    const destination = input.destination ?? stored?.destination ?? "custom";
    const url = metricsUrl(endpoint);
    // A saved endpoint may have become private for this deployment (the worker checks unsaved ones).
    const refused = input.endpoint === undefined ? refusedEndpoint(endpoint, this.d.settings()) : null;
    if (refused !== null) return { ok: true, value: notSent(url, refused, destination) };
    const credentials = this.d.exports.slot(found?.id ?? FIRST_EXPORT_ID).credentials;
    const resolved = await credentials.forSend(input.headers, stored && originOf(stored.endpoint), originOf(endpoint));
    if (resolved.kind === "unreadable") return { ok: true, value: notSent(url, unreadableFailure(resolved), destination) };
    if (resolved.kind !== "ok") return failed(resolutionError(resolved, "test"));
    const preset = presetHeaderError(destination, resolved.value.map((h) => h.name));
    if (preset !== null) return failed(preset);
    this.#testTimes.push(nowMs);
    const test = {
      url,
      destination,
      protocol: input.protocol ?? stored?.protocol ?? "http/protobuf",
      compression: input.compression ?? stored?.compression ?? "gzip",
      headers: resolved.value,
      bounds: this.d.exports.bounds(),
    };
    return { ok: true, value: await testConnection(test, realTransport(this.d.settings())) };
  }
}
