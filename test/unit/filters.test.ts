import { describe, expect, it } from "vitest";
import { z } from "zod";
import { compileFilters, ExportFilters } from "../../src/export/filters";
import { METRICS } from "../../src/export/metric-definitions";
import { zodToApiError } from "../../src/validation/zod-error";

// Literal on purpose: the names customers write in their filters.
const METRIC_NAMES = [
  "cerebrium_cpu_utilization_cores",
  "cerebrium_memory_usage_bytes",
  "cerebrium_gpu_memory_usage_bytes",
  "cerebrium_gpu_compute_utilization_percent",
  "cerebrium_containers_running_count",
  "cerebrium_containers_ready_count",
  "cerebrium_run_execution_time_ms",
  "cerebrium_run_queue_time_ms",
  "cerebrium_run_coldstart_time_ms",
  "cerebrium_run_response_time_ms",
  "cerebrium_run_total",
  "cerebrium_run_successes_total",
  "cerebrium_run_errors_total",
];
const HISTOGRAM_NAMES = METRIC_NAMES.slice(6, 10);
const COUNTER_NAMES = METRIC_NAMES.slice(10);
const UNKNOWN_METRIC = `must be one of ${METRIC_NAMES.map((name) => `"${name}"`).join(", ")}`;

describe("ExportFilters validation", () => {
  const rejected: [string, unknown, (string | number)[], string][] = [
    ["an unknown metric name", { metrics: { include: ["cerebrium_run_count"] } }, ["metrics", "include", 0], UNKNOWN_METRIC],
    ["an unknown metric name to exclude", { metrics: { exclude: ["cerebrium_run_total", "run_total"] } }, ["metrics", "exclude", 1], UNKNOWN_METRIC],
    ["a metric name in another case", { metrics: { include: ["CEREBRIUM_RUN_TOTAL"] } }, ["metrics", "include", 0], UNKNOWN_METRIC],
    ["a glob among metric names (names are exact)", { metrics: { include: ["cerebrium_run_*"] } }, ["metrics", "include", 0], UNKNOWN_METRIC],
    ["a metric that is not a string", { metrics: { include: [7] } }, ["metrics", "include", 0], UNKNOWN_METRIC],
    ["a metric excluded after its include", { metrics: { include: ["cerebrium_run_total"], exclude: ["cerebrium_run_total"] } }, ["metrics"], "leaves no metric to export"],
    ["every metric excluded", { metrics: { exclude: METRIC_NAMES } }, ["metrics"], "leaves no metric to export"],
    ["an empty include list", { metrics: { include: [] } }, ["metrics", "include"], "must have at least one entry"],
    ["an empty exclude list", { apps: { exclude: [] } }, ["apps", "exclude"], "must have at least one entry"],
    ["65 entries", { apps: { include: Array.from({ length: 65 }, (_, i) => `app-${i}`) } }, ["apps", "include"], "must have at most 64 entries"],
    ["an empty glob", { apps: { include: [""] } }, ["apps", "include", 0], "must not be empty"],
    ["a glob of 129 characters", { regions: { exclude: ["x".repeat(129)] } }, ["regions", "exclude", 0], "must be at most 128 characters"],
    ["a glob with a newline", { apps: { include: ["app-*\n"] } }, ["apps", "include", 0], "must be printable ASCII"],
    ["a glob with a tab", { regions: { include: ["eu-\t"] } }, ["regions", "include", 0], "must be printable ASCII"],
    ["a non-ASCII glob", { apps: { include: ["modèle-*"] } }, ["apps", "include", 0], "must be printable ASCII"],
    ["a glob that is not a string", { apps: { include: [null] } }, ["apps", "include", 0], "must be a string"],
    ["a list that is a string", { apps: { include: "app-*" } }, ["apps", "include"], "must be an array of strings"],
    ["a metric list that is a string", { metrics: { exclude: "cerebrium_run_total" } }, ["metrics", "exclude"], "must be an array of metric names"],
    ["a selector that is a list", { regions: ["eu-*"] }, ["regions"], "must be an object with include and/or exclude"],
    ["filters that are not an object", "apps=*", [], "must be an object with metrics, apps and/or regions"],
  ];

  it.each(rejected)("rejects %s", (_name, input, path, message) => {
    const result = ExportFilters.safeParse(input);
    expect(result.error?.issues.map((issue) => ({ path: issue.path, message: issue.message }))).toEqual([{ path, message }]);
  });

  it.each([
    ["a misspelt selector key", { apps: { includes: ["x"] } }, ["apps"], ["includes"]],
    ["an unknown filter", { app: { include: ["x"] } }, [], ["app"]],
  ])("rejects %s as an unknown field", (_name, input, path, keys) => {
    const [issue, ...rest] = ExportFilters.safeParse(input).error!.issues;
    expect(rest).toEqual([]);
    expect(issue).toMatchObject({ code: "unrecognized_keys", path, keys });
  });

  it("reads as the API's 400 message once nested as `filters`", () => {
    const Config = z.strictObject({ filters: ExportFilters.optional() });
    const error = Config.safeParse({ filters: { metrics: { include: ["cerebrium_run_total"], exclude: COUNTER_NAMES } } }).error!;
    expect(zodToApiError(error).message).toBe("filters.metrics: leaves no metric to export.");
  });

  it.each([
    ["no filter", {}],
    ["empty selectors", { metrics: {}, apps: {}, regions: {} }],
    ["no histograms", { metrics: { exclude: HISTOGRAM_NAMES } }],
    ["one metric", { metrics: { include: ["cerebrium_run_errors_total"] } }],
    ["every metric named", { metrics: { include: METRIC_NAMES } }],
    ["globs", { apps: { include: ["*"], exclude: ["test-?", "*-(staging)"] }, regions: { include: ["[eu]-*", "\\*.+$^{}|"] } }],
    ["64 entries of 128 characters", { apps: { exclude: Array.from({ length: 64 }, (_, i) => `${i}`.padEnd(128, "*")) } }],
  ])("accepts %s unchanged", (_name, input) => {
    expect(ExportFilters.parse(input)).toEqual(input);
  });
});

describe("globs (apps against app_name, regions against region)", () => {
  const keepsApp = (glob: string, appName: string) => compileFilters({ apps: { include: [glob] } }).keepSeries(appName, "us-east-1");

  it.each([
    ["whisper", "whisper", true],
    ["whisper", "whisper-large", false],
    ["whisper", "Whisper", false],
    ["whisper-*", "whisper-", true],
    ["whisper-*", "whisper-large-v3", true],
    ["whisper-*", "my-whisper-large", false],
    ["*-prod", "api-prod", true],
    ["*-prod", "api-prod-2", false],
    ["*", "", true],
    ["*", "anything-at-all", true],
    ["**", "x", true],
    ["?", "a", true],
    ["?", "", false],
    ["?", "ab", false],
    ["app-??", "app-42", true],
    ["app-??", "app-7", false],
    ["*a*b*c", "xxaxxbxxc", true],
    ["*a*b*c", "cba", false],
    ["a*b*b", "abb", true],
    ["a*b*b", "ab", false],
    ["*b?", "abba", true],
    ["*b?", "abab", false],
    ["a.b", "a.b", true],
    ["a.b", "axb", false],
    ["a+", "aa", false],
    ["(x|y)", "x", false],
    ["(x|y)", "(x|y)", true],
    ["[ab]{2}^$\\", "[ab]{2}^$\\", true],
    ["[ab]", "a", false],
    ["1*", "12", true],
  ])("%j against %j: %s", (glob, appName, kept) => {
    expect(keepsApp(glob, appName)).toBe(kept);
  });

  it("agrees with a dynamic-programming matcher on 5,000 random globs and names", () => {
    const reference = (glob: string, text: string): boolean => {
      let row = [true, ...Array<boolean>(text.length).fill(false)];
      for (const c of glob) {
        const next = [c === "*" && row[0]!];
        for (let j = 1; j <= text.length; j++) next[j] = c === "*" ? row[j]! || next[j - 1]! : row[j - 1]! && (c === "?" || c === text[j - 1]);
        row = next;
      }
      return row[text.length]!;
    };
    let state = 99;
    const random = (n: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return (state >>> 16) % n;
    };
    const word = (alphabet: string, maxLength: number) => Array.from({ length: random(maxLength + 1) }, () => alphabet[random(alphabet.length)]!).join("");
    const disagreements: string[] = [];
    for (let round = 0; round < 5_000; round++) {
      const glob = word("ab*?.", 8) || "*";
      const name = word("ab.", 9);
      if (keepsApp(glob, name) !== reference(glob, name)) disagreements.push(`${glob} ${name}`);
    }
    expect(disagreements).toEqual([]);
  });

  it("matches a glob of many stars without backtracking through every placement", () => {
    // As a plain `^.*a.*a…$` RegExp this takes about a minute on a 63-character name.
    const started = performance.now();
    expect(keepsApp("*a*a*a*a*a*a*a*b", "a".repeat(63))).toBe(false);
    expect(keepsApp("*a".repeat(63) + "*", "a".repeat(63))).toBe(true);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it("include keeps what any glob matches, exclude then removes; apps and regions both apply", () => {
    const filters = compileFilters({
      apps: { include: ["whisper-*", "llama-?b"], exclude: ["*-test", "llama-7b"] },
      regions: { exclude: ["eu-*"] },
    });
    const kept = [
      ["whisper-large", "us-east-1"],
      ["whisper-large", "eu-north-1"],
      ["whisper-test", "us-east-1"],
      ["llama-3b", "ap-south-1"],
      ["llama-7b", "ap-south-1"],
      ["llama-13b", "ap-south-1"],
      ["mistral", "us-east-1"],
    ].filter(([app, region]) => filters.keepSeries(app!, region!));
    expect(kept).toEqual([
      ["whisper-large", "us-east-1"],
      ["llama-3b", "ap-south-1"],
    ]);
  });

  it("an exclude alone keeps everything else", () => {
    const filters = compileFilters({ regions: { exclude: ["us-*"] } });
    expect(["us-east-1", "eu-north-1", "ap-south-1", "aus-1"].filter((region) => filters.keepSeries("app", region))).toEqual([
      "eu-north-1",
      "ap-south-1",
      "aus-1",
    ]);
  });
});

describe("compileFilters", () => {
  it.each([
    ["null", null],
    ["undefined", undefined],
    ["{}", {}],
    ["empty selectors", { metrics: {}, apps: {}, regions: {} }],
    ["every metric named", { metrics: { include: METRIC_NAMES } }],
  ])("%s: every metric of every series, unfiltered", (_name, filters) => {
    const compiled = compileFilters(filters);
    expect(compiled.unfiltered).toBe(true);
    expect(compiled.metrics).toBe(METRICS);
    expect(compiled.keepSeries("any-app", "any-region")).toBe(true);
  });

  it("keeps METRICS order whatever the order of include", () => {
    const compiled = compileFilters({ metrics: { include: ["cerebrium_run_errors_total", "cerebrium_run_queue_time_ms", "cerebrium_cpu_utilization_cores"] } });
    expect(compiled.metrics.map((d) => d.name)).toEqual(["cerebrium_cpu_utilization_cores", "cerebrium_run_queue_time_ms", "cerebrium_run_errors_total"]);
    expect(compiled.unfiltered).toBe(false);
    expect(compiled.keepSeries("any-app", "any-region")).toBe(true);
  });

  it("takes the definitions themselves out of METRICS", () => {
    const compiled = compileFilters({ metrics: { exclude: HISTOGRAM_NAMES } });
    expect(compiled.metrics.map((d) => d.name)).toEqual([...METRIC_NAMES.slice(0, 6), ...COUNTER_NAMES]);
    expect(compiled.metrics.every((d) => METRICS.includes(d))).toBe(true);
  });

  it("a series filter alone still sends every metric, but is not unfiltered", () => {
    const compiled = compileFilters({ apps: { exclude: ["*-test"] } });
    expect(compiled.metrics).toBe(METRICS);
    expect(compiled.unfiltered).toBe(false);
    expect([compiled.keepSeries("api", "r"), compiled.keepSeries("api-test", "r")]).toEqual([true, false]);
  });
});
