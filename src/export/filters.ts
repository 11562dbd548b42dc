/**
 * Per-export filters: which metrics, and the series of which apps and regions, a destination is
 * sent. They shape the request only; aggregation and its stored state are the same with or without.
 */
import { z } from "zod";
import { METRICS, type MetricDefinition } from "./metric-definitions";

export const MAX_FILTER_ENTRIES = 64;
export const MAX_FILTER_ENTRY_LENGTH = 128;

const METRIC_NAMES = METRICS.map((definition) => definition.name) as [string, ...string[]];

const MetricName = z.enum(METRIC_NAMES, { error: `must be one of ${METRIC_NAMES.map((name) => `"${name}"`).join(", ")}` });

/** `*` any run of characters, `?` one character, anything else itself (case-sensitive). */
const Glob = z
  .string({ error: "must be a string" })
  .min(1, { error: "must not be empty" })
  .max(MAX_FILTER_ENTRY_LENGTH, { error: `must be at most ${MAX_FILTER_ENTRY_LENGTH} characters` })
  .regex(/^[\x20-\x7e]*$/, { error: "must be printable ASCII" });

function selector(entry: z.ZodType<string>, entries: string) {
  const list = z
    .array(entry, { error: `must be an array of ${entries}` })
    .min(1, { error: "must have at least one entry" })
    .max(MAX_FILTER_ENTRIES, { error: `must have at most ${MAX_FILTER_ENTRIES} entries` });
  return z.strictObject({ include: list.optional(), exclude: list.optional() }, { error: "must be an object with include and/or exclude" });
}

const GlobSelector = selector(Glob, "strings");
type Selector = z.infer<typeof GlobSelector>;

/** `include` absent: everything; `exclude` then removes from that. */
export const ExportFilters = z.strictObject(
  {
    metrics: selector(MetricName, "metric names")
      // Only once the lists themselves are valid: `include: []` is "must have at least one entry" alone.
      .refine((s) => selectMetrics(s).length > 0, { error: "leaves no metric to export", when: (payload) => payload.issues.length === 0 })
      .optional(),
    /** Matched against app_name. */
    apps: GlobSelector.optional(),
    regions: GlobSelector.optional(),
  },
  { error: "must be an object with metrics, apps and/or regions" },
);
export type ExportFilters = z.infer<typeof ExportFilters>;

export interface CompiledFilters {
  /** What a push carries: a subset of METRICS in METRICS order, METRICS itself when no metric is left out. */
  readonly metrics: readonly MetricDefinition[];
  /** Whether the series of this app and region is sent. */
  keepSeries(appName: string, region: string): boolean;
  /** Every metric of every series: nothing to filter. */
  readonly unfiltered: boolean;
}

const UNFILTERED: CompiledFilters = { metrics: METRICS, keepSeries: () => true, unfiltered: true };

export function compileFilters(filters: ExportFilters | null | undefined): CompiledFilters {
  const metrics = selectMetrics(filters?.metrics);
  const keepApp = matcher(filters?.apps);
  const keepRegion = matcher(filters?.regions);
  if (metrics === METRICS && keepApp === undefined && keepRegion === undefined) return UNFILTERED;
  return {
    metrics,
    keepSeries: (appName, region) => (keepApp?.(appName) ?? true) && (keepRegion?.(region) ?? true),
    unfiltered: false,
  };
}

function selectMetrics(selector: Selector | undefined): readonly MetricDefinition[] {
  if (selector === undefined) return METRICS;
  const { include, exclude } = selector;
  const selected = METRICS.filter((d) => (include === undefined || include.includes(d.name)) && !exclude?.includes(d.name));
  return selected.length === METRICS.length ? METRICS : selected;
}

/** undefined: the selector lets every value through. */
function matcher(selector: Selector | undefined): ((value: string) => boolean) | undefined {
  const include = selector?.include && globsToRegExp(selector.include);
  const exclude = selector?.exclude && globsToRegExp(selector.exclude);
  if (include === undefined && exclude === undefined) return undefined;
  return (value) => (include === undefined || include.test(value)) && !exclude?.test(value);
}

/**
 * One anchored RegExp for a list of globs. A segment between two `*` is matched at its leftmost
 * place inside a lookahead, which JavaScript never backtracks into, then consumed by a
 * backreference: the plain `^.*a.*a.*a.*a.*a.*a.*b$` takes 7 s on a 63-character name (backtracking
 * tries every placement), this form microseconds. Leftmost is enough: the segments have fixed
 * lengths and what follows starts with `*`, so an earlier place never loses a match.
 */
function globsToRegExp(globs: readonly string[]): RegExp {
  let group = 0;
  const alternatives = globs.map((glob) => {
    const [first, ...rest] = glob.split("*").map(segmentPattern);
    const last = rest.pop();
    if (last === undefined) return first!;
    return `${first!}${rest.map((segment) => `(?=(.*?${segment}))\\${++group}`).join("")}.*${last}`;
  });
  return new RegExp(`^(?:${alternatives.join("|")})$`, "su");
}

function segmentPattern(literal: string): string {
  return literal.replace(/[?\\^$.+()[\]{}|]/g, (c) => (c === "?" ? "." : `\\${c}`));
}
