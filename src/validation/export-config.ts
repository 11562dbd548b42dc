/** Request schemas of the export configuration routes (PUT, PATCH, test). */
import { z } from "zod";
import { ExportFilters } from "../export/filters";

export const MAX_HEADERS = 16;
export const MAX_HEADER_NAME_LENGTH = 128;
export const MAX_HEADER_VALUE_LENGTH = 4096;
export const MAX_HISTOGRAM_BOUNDS = 64;

/** Set by the transport itself; a user value would break or smuggle the request. */
export const RESERVED_HEADER_NAMES: readonly string[] = [
  "host",
  "content-length",
  "content-type",
  "content-encoding",
  "transfer-encoding",
  "connection",
  "te",
  "upgrade",
  // Connection-specific (RFC 9110 §7.6.1): dropped or mishandled by the runtime, so a configured
  // value would silently never arrive.
  "keep-alive",
  "proxy-connection",
  "trailer",
  "expect",
  "http2-settings",
];

const NO_CONTROL_CHARACTERS = /^[^\x00-\x1f\x7f]*$/;
const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export const Destination = z.enum(["grafana_cloud", "datadog", "prometheus", "new_relic", "honeycomb", "custom"], {
  error: 'must be one of "grafana_cloud", "datadog", "prometheus", "new_relic", "honeycomb", "custom"',
});
export type Destination = z.infer<typeof Destination>;
export const Protocol = z.enum(["http/protobuf", "http/json"], { error: 'must be "http/protobuf" or "http/json"' });
export type Protocol = z.infer<typeof Protocol>;
export const Compression = z.enum(["gzip", "none"], { error: 'must be "gzip" or "none"' });
export type Compression = z.infer<typeof Compression>;
export const Temporality = z.enum(["cumulative", "delta"], { error: 'must be "cumulative" or "delta"' });

const HeaderName = z
  .string({ error: "must be a string" })
  .min(1, { error: "must not be empty" })
  .max(MAX_HEADER_NAME_LENGTH, { error: `must be at most ${MAX_HEADER_NAME_LENGTH} characters` })
  .regex(HTTP_TOKEN, { error: "must be an HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)" })
  .refine((name) => !RESERVED_HEADER_NAMES.includes(name.toLowerCase()), {
    error: "is set by the exporter itself and cannot be configured",
  });

const HeaderValue = z
  .string({ error: "must be a string" })
  .max(MAX_HEADER_VALUE_LENGTH, { error: `must be at most ${MAX_HEADER_VALUE_LENGTH} characters` })
  .refine((v) => !/[\r\n\0]/.test(v), { error: "must not contain CR, LF or NUL characters" })
  .refine((v) => /^[\t\x20-\x7e]*$/.test(v), { error: "must be printable ASCII" })
  .transform((v) => v.trim())
  .refine((v) => v.length > 0, { error: "must not be empty" });

export const HeaderInput = z.strictObject({ name: HeaderName, value: HeaderValue.optional() });
export type HeaderInput = z.infer<typeof HeaderInput>;

const Headers = z
  .array(HeaderInput, { error: "must be an array of {name, value} objects" })
  .max(MAX_HEADERS, { error: `must have at most ${MAX_HEADERS} entries` })
  .superRefine((headers, ctx) => {
    const seen = new Set<string>();
    headers.forEach((h, i) => {
      const key = h.name.toLowerCase();
      if (seen.has(key)) ctx.addIssue({ code: "custom", path: [i, "name"], message: `"${h.name}" is listed twice` });
      seen.add(key);
    });
  });

const HistogramBounds = z
  .array(z.number({ error: "must be numbers" }), { error: "must be an array of numbers" })
  .min(1, { error: "must have at least one bound" })
  .max(MAX_HISTOGRAM_BOUNDS, { error: `must have at most ${MAX_HISTOGRAM_BOUNDS} bounds` })
  .superRefine((bounds, ctx) => {
    bounds.forEach((b, i) => {
      if (!Number.isFinite(b) || b <= 0) ctx.addIssue({ code: "custom", path: [i], message: "must be a finite number above 0" });
      else if (i > 0 && b <= bounds[i - 1]!) ctx.addIssue({ code: "custom", path: [i], message: "must be greater than the previous bound (strictly increasing)" });
    });
  });

/** An export's label, unique in its project (case-insensitively). */
export const ExportName = z
  .string({ error: "must be a string" })
  .trim()
  .min(1, { error: "must not be empty" })
  .max(64, { error: "must be at most 64 characters" })
  .regex(NO_CONTROL_CHARACTERS, { error: "must not contain control characters" });

const fields = {
  name: ExportName.optional(),
  endpoint: z.string({ error: "must be a string" }),
  headers: Headers.optional(),
  destination: Destination.optional(),
  enabled: z.boolean({ error: "must be true or false" }).optional(),
  protocol: Protocol.optional(),
  compression: Compression.optional(),
  temporality: Temporality.optional(),
  /** null resets to the default bounds. */
  histogram_bounds_ms: HistogramBounds.nullable().optional(),
  /** null removes every filter. */
  filters: ExportFilters.nullable().optional(),
};

/** PUT ("Save & Enable"): the whole configuration. */
export const ExportConfigPut = z.strictObject(fields);
export type ExportConfigPut = z.infer<typeof ExportConfigPut>;

/** PATCH: any subset (the dashboard's toggle is `{"enabled": false}`). */
export const ExportConfigPatch = z
  .strictObject({ ...fields, endpoint: fields.endpoint.optional() })
  .refine((v) => Object.keys(v).length > 0, { error: "must change at least one field" });
export type ExportConfigPatch = z.infer<typeof ExportConfigPatch>;

/** Test Connection: unsaved settings to try; anything absent comes from the stored configuration. */
export const ConnectionTestInput = z.strictObject({
  endpoint: fields.endpoint.optional(),
  headers: fields.headers,
  destination: fields.destination,
  protocol: fields.protocol,
  compression: fields.compression,
});
export type ConnectionTestInput = z.infer<typeof ConnectionTestInput>;

export const ProjectCreate = z.strictObject({
  project_id: z
    .string({ error: "must be a string" })
    .regex(/^p-[a-z0-9]{4,32}$/, { error: 'must match ^p-[a-z0-9]{4,32}$ (for example "p-abc12345")' })
    .optional(),
  name: z
    .string({ error: "must be a string" })
    .trim()
    .min(1, { error: "must not be empty" })
    .max(200, { error: "must be at most 200 characters" })
    .regex(NO_CONTROL_CHARACTERS, { error: "must not contain control characters" })
    .optional(),
});

export const KeyCreate = z.strictObject({
  name: z
    .string({ error: "must be a string" })
    .trim()
    .max(200, { error: "must be at most 200 characters" })
    .regex(NO_CONTROL_CHARACTERS, { error: "must not contain control characters" })
    .optional(),
});

export const IngestKeyCreate = z.strictObject({
  host_id: z
    .string({ error: "must be a string" })
    .regex(/^[\x21-\x7e]{1,128}$/, { error: "must be 1 to 128 printable ASCII characters without spaces" }),
  name: KeyCreate.shape.name,
});

/** Routes that take no input (resume, flush): an absent body or `{}`. */
export const EmptyBody = z.strictObject({});
