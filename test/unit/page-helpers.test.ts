/**
 * The Metrics Export page's small pure helpers (public/assets/page/): the Grafana Cloud Basic auth
 * header, the product guide's example queries, and where an API error goes on the form.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

// The page scripts are plain browser JS, type-checked from their JSDoc by tsconfig.page.json; this
// project does not compile them (their `// @ts-check` would, and some of their parameters are left
// untyped), so they are loaded through a specifier TypeScript does not resolve, with the signatures
// of their JSDoc restated here. The first test checks that the modules export exactly these.
interface BasicAuthModule {
  grafanaBasicAuth(instanceId: string, token: string): { ok: true; value: string } | { ok: false; field: "instance" | "token"; message: string };
}
interface QueriesModule {
  guideQueries(projectId: string, appName: string): { title: string; query: string }[];
  appNamesOf(request: unknown): string[];
}
interface FieldErrorsModule {
  fieldOf(error: { code: string; message: string }): { field: "endpoint" | "name" | "headers" | "form"; header: number | null; message: string };
}
const page = (file: string): Promise<unknown> => import(path.join(import.meta.dirname, "../../public/assets/page", file));
const basicAuth = (await page("basic-auth.js")) as BasicAuthModule;
const queries = (await page("queries.js")) as QueriesModule;
const fieldErrors = (await page("field-errors.js")) as FieldErrorsModule;
const { grafanaBasicAuth } = basicAuth;
const { guideQueries, appNamesOf } = queries;
const { fieldOf } = fieldErrors;

it("the modules export what this test expects", () => {
  expect(Object.keys(basicAuth)).toEqual(["grafanaBasicAuth"]);
  expect(Object.keys(queries).sort()).toEqual(["appNamesOf", "guideQueries"]);
  expect(Object.keys(fieldErrors)).toEqual(["fieldOf"]);
  for (const f of [grafanaBasicAuth, guideQueries, appNamesOf, fieldOf]) expect(typeof f).toBe("function");
});

describe("grafanaBasicAuth", () => {
  it('is "Basic " + base64(INSTANCE_ID:TOKEN), as `echo -n "INSTANCE_ID:TOKEN" | base64` prints', () => {
    const r = grafanaBasicAuth("123456", "glc_abc");
    expect(r).toEqual({ ok: true, value: "Basic " + Buffer.from("123456:glc_abc").toString("base64") });
    expect(r).toEqual({ ok: true, value: "Basic MTIzNDU2OmdsY19hYmM=" });
  });

  it("matches the shell's base64 for a realistic Grafana Cloud token", () => {
    const token = "glc_eyJvIjoiMTIzNDU2NyIsIm4iOiJtZXRyaWNzLWV4cG9ydCIsImsiOiJhYmMxMjMiLCJtIjp7InIiOiJwcm9kLXVzLWVhc3QtMCJ9fQ==";
    let shell: string;
    try {
      shell = execFileSync("base64", ["-w0"], { input: `987654:${token}` }).toString().trim();
    } catch {
      shell = Buffer.from(`987654:${token}`).toString("base64"); // no coreutils base64 here
    }
    const r = grafanaBasicAuth("987654", token);
    expect(r).toEqual({ ok: true, value: `Basic ${shell}` });
    // And it decodes back to exactly INSTANCE_ID:TOKEN.
    expect(r.ok && Buffer.from(r.value.slice("Basic ".length), "base64").toString()).toBe(`987654:${token}`);
  });

  it("trims what was pasted around the id and the token", () => {
    expect(grafanaBasicAuth("  123456\n", "\tglc_abc  ")).toEqual({ ok: true, value: "Basic " + Buffer.from("123456:glc_abc").toString("base64") });
  });

  it("rejects a missing or non-numeric Instance ID on the instance field", () => {
    for (const id of ["", "   ", "abc", "12a456", "-123456", "123 456", "1.5", "123456789012345678901"]) {
      const r = grafanaBasicAuth(id, "glc_abc");
      expect(r.ok, JSON.stringify(id)).toBe(false);
      if (!r.ok) {
        expect(r.field).toBe("instance");
        expect(r.message).toMatch(/Instance ID/);
      }
    }
    const empty = grafanaBasicAuth("", "glc_abc");
    const wrong = grafanaBasicAuth("abc", "glc_abc");
    expect(!empty.ok && !wrong.ok && empty.message !== wrong.message).toBe(true);
  });

  it("rejects a missing token, or one with spaces or non-ASCII, on the token field", () => {
    for (const token of ["", "   ", "glc abc", "glc_a\tbc", "glc_é", "glc_\u200babc"]) {
      const r = grafanaBasicAuth("123456", token);
      expect(r.ok, JSON.stringify(token)).toBe(false);
      if (!r.ok) expect(r.field).toBe("token");
    }
    const empty = grafanaBasicAuth("123456", " ");
    expect(!empty.ok && empty.message).toMatch(/API token/);
    const spaced = grafanaBasicAuth("123456", "glc abc");
    expect(!spaced.ok && spaced.message).toMatch(/without spaces/);
  });

  it("checks the Instance ID before the token", () => {
    const r = grafanaBasicAuth("", "");
    expect(!r.ok && r.field).toBe("instance");
  });
});

describe("guideQueries", () => {
  // ../shared/PRODUCT-GUIDE.md, "Viewing Metrics" → Grafana Cloud tab, as written there.
  const GUIDE_GRAFANA_TAB: [title: string, query: string][] = [
    ["CPU usage by app", 'cerebrium_cpu_utilization_cores{project_id="YOUR_PROJECT_ID"}'],
    ["Memory for a specific app", 'cerebrium_memory_usage_bytes{app_name="my-model"}'],
    ["Container scaling over time", 'cerebrium_containers_running_count{project_id="YOUR_PROJECT_ID"}'],
    ["Request rate (requests per second over 5 minutes)", "rate(cerebrium_run_total[5m])"],
    ["p99 execution latency", 'histogram_quantile(0.99, rate(cerebrium_run_execution_time_ms_milliseconds_bucket{app_name="my-model"}[5m]))'],
    ["p99 end-to-end response time", 'histogram_quantile(0.99, rate(cerebrium_run_response_time_ms_milliseconds_bucket{app_name="my-model"}[5m]))'],
    ["Error rate as a percentage", 'rate(cerebrium_run_errors_total{app_name="my-model"}[5m]) / rate(cerebrium_run_total{app_name="my-model"}[5m]) * 100'],
    [
      "Average cold start time",
      'rate(cerebrium_run_coldstart_time_ms_milliseconds_sum{app_name="my-model"}[5m]) / rate(cerebrium_run_coldstart_time_ms_milliseconds_count{app_name="my-model"}[5m])',
    ],
  ];
  /** The guide's placeholders filled in; the page scopes the guide's unfiltered queries to the project. */
  const filled = (query: string, projectId: string, app: string) =>
    query
      .replaceAll("YOUR_PROJECT_ID", projectId)
      .replaceAll("my-model", app)
      .replace("cerebrium_run_total[5m]", `cerebrium_run_total{project_id="${projectId}"}[5m]`);

  it("has every query of the guide's Grafana Cloud tab, with the project id and app filled in", () => {
    const queries = guideQueries("p-abc12345", "llama-chat");
    for (const [title, query] of GUIDE_GRAFANA_TAB) {
      const found = queries.find((q) => q.title === title);
      expect(found, title).toBeDefined();
      expect(found!.query).toBe(filled(query, "p-abc12345", "llama-chat"));
    }
  });

  it("leaves no placeholder behind", () => {
    for (const { query } of guideQueries("p-abc12345", "llama-chat")) {
      expect(query).not.toContain("YOUR_PROJECT_ID");
      expect(query).not.toContain("my-model");
    }
  });

  it("lists all Cerebrium metrics of the project (the guide's Prometheus tab, scoped)", () => {
    const all = guideQueries("p-abc12345", "llama-chat").find((q) => q.title === "List all Cerebrium metrics");
    expect(all?.query).toBe('{__name__=~"cerebrium_.*", project_id="p-abc12345"}');
  });

  it("scopes project-level queries with project_id and app-level ones with app_name", () => {
    const queries = guideQueries("p-abc12345", "llama-chat");
    expect(queries.length).toBe(GUIDE_GRAFANA_TAB.length + 1);
    for (const { title, query } of queries) {
      const scoped = query.includes('project_id="p-abc12345"') || query.includes('app_name="llama-chat"');
      expect(scoped, `${title}: ${query}`).toBe(true);
    }
    for (const title of ["CPU usage by app", "Container scaling over time", "Request rate (requests per second over 5 minutes)", "List all Cerebrium metrics"]) {
      expect(queries.find((q) => q.title === title)!.query).toContain('project_id="p-abc12345"');
    }
  });

  it('escapes " and \\ in label values as PromQL string literals need', () => {
    const queries = guideQueries('p-"x"\\y', 'my "app"\\v2');
    const cpu = queries.find((q) => q.title === "CPU usage by app")!.query;
    expect(cpu).toBe('cerebrium_cpu_utilization_cores{project_id="p-\\"x\\"\\\\y"}');
    const memory = queries.find((q) => q.title === "Memory for a specific app")!.query;
    expect(memory).toBe('cerebrium_memory_usage_bytes{app_name="my \\"app\\"\\\\v2"}');
    // Every label value is one well-formed literal: it ends at the first unescaped quote.
    for (const { query } of queries) {
      for (const m of query.matchAll(/(project_id|app_name)="((?:[^"\\]|\\.)*)"/g)) {
        const value = m[2]!.replace(/\\(.)/g, "$1");
        expect(value).toBe(m[1] === "project_id" ? 'p-"x"\\y' : 'my "app"\\v2');
      }
    }
  });
});

describe("appNamesOf (the queries' app picker, from the preview's OTLP/JSON)", () => {
  const attr = (key: string, value: string) => ({ key, value: { stringValue: value } });
  const point = (app: string) => ({ attributes: [attr("project_id", "p-abc12345"), attr("app_name", app), attr("region", "us-east-1")], asDouble: 1 });

  it("collects app_name from gauge, sum and histogram points and from resource attributes, sorted and once each", () => {
    const request = {
      resourceMetrics: [
        {
          resource: { attributes: [attr("service.name", "metrics-export"), attr("app_name", "resource-app")] },
          scopeMetrics: [
            {
              metrics: [
                { name: "cerebrium_cpu_utilization_cores", gauge: { dataPoints: [point("zeta"), point("alpha")] } },
                { name: "cerebrium_run_total", sum: { dataPoints: [point("alpha"), point("mid")] } },
                { name: "cerebrium_run_execution_time_ms_milliseconds", histogram: { dataPoints: [point("hist-only")] } },
              ],
            },
          ],
        },
      ],
    };
    expect(appNamesOf(request)).toEqual(["alpha", "hist-only", "mid", "resource-app", "zeta"]);
  });

  it("ignores other attributes, non-string values and anything that is not such a request", () => {
    const request = {
      resourceMetrics: [
        { scopeMetrics: [{ metrics: [{ gauge: { dataPoints: [{ attributes: [attr("region", "eu"), { key: "app_name", value: { intValue: "7" } }, null] }] } }, null] }] },
        { scopeMetrics: null },
      ],
    };
    expect(appNamesOf(request)).toEqual([]);
    for (const nothing of [null, undefined, 42, "x", {}, { resourceMetrics: null }, { resourceMetrics: [null] }]) expect(appNamesOf(nothing)).toEqual([]);
  });
});

describe("fieldOf", () => {
  const invalid = (message: string) => fieldOf({ code: "invalid_request", message });

  it("puts endpoint errors on the endpoint field", () => {
    expect(invalid("endpoint: must use https.")).toEqual({ field: "endpoint", header: null, message: "The endpoint must use https." });
  });

  it("puts name errors on the name field", () => {
    expect(invalid("name: must not be empty.")).toEqual({ field: "name", header: null, message: "The name must not be empty." });
  });

  it("puts a header's name or value error on that header (1-based in the words, 0-based index)", () => {
    expect(invalid("headers[0].name: must be an HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only).")).toEqual({
      field: "headers",
      header: 0,
      message: "Header 1 name: must be an HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only).",
    });
    expect(invalid('headers[1].value: required, no value is stored for header "DD-API-KEY".')).toEqual({
      field: "headers",
      header: 1,
      message: 'Header 2 value: required, no value is stored for header "DD-API-KEY".',
    });
    expect(invalid("headers[12].value: must be printable ASCII.")).toMatchObject({ field: "headers", header: 12, message: "Header 13 value: must be printable ASCII." });
    expect(invalid("headers[3]: must be an object.")).toEqual({ field: "headers", header: 3, message: "Header 4: must be an object." });
  });

  it("puts errors about the whole header list on the headers, without an index", () => {
    expect(invalid("headers: must have at most 10 entries.")).toEqual({ field: "headers", header: null, message: "Headers: must have at most 10 entries." });
    expect(invalid('headers: the stored value of "Authorization" cannot be decrypted; enter it again.')).toEqual({
      field: "headers",
      header: null,
      message: 'Headers: the stored value of "Authorization" cannot be decrypted; enter it again.',
    });
  });

  it("puts header_values_required and header_required on the headers", () => {
    const values = "headers: stored header values are only sent to the origin they were saved for (https://a.example); to test https://b.example, enter the value of \"Authorization\" again.";
    expect(fieldOf({ code: "header_values_required", message: values })).toEqual({ field: "headers", header: null, message: values });
    const required = 'headers: the datadog destination needs the header "DD-API-KEY": your Datadog API key.';
    expect(fieldOf({ code: "header_required", message: required })).toMatchObject({ field: "headers", header: null });
    expect(fieldOf({ code: "header_required", message: required }).message).toContain('"DD-API-KEY"');
  });

  it("puts export_name_taken on the name", () => {
    const r = fieldOf({ code: "export_name_taken", message: 'name: another export of this project is already called "Grafana prod"; choose another name.' });
    expect(r.field).toBe("name");
    expect(r.header).toBeNull();
    expect(r.message).toContain('already called "Grafana prod"');
  });

  it("puts other codes on the form, with the message as it is", () => {
    for (const code of ["unauthorized", "rate_limited", "internal_error", "not_found", "export_limit_reached"]) {
      expect(fieldOf({ code, message: "endpoint: looks like a field but the code says otherwise." })).toEqual({
        field: "form",
        header: null,
        message: "endpoint: looks like a field but the code says otherwise.",
      });
    }
  });

  it("puts an invalid_request that names no known field on the form, unchanged", () => {
    for (const message of [
      "The request body must be a JSON object.",
      'Unknown field in headers[0]: "secret".',
      "histogram_bounds_ms[2]: must be greater than the previous bound (strictly increasing).",
      "protocol: must be \"http/protobuf\" or \"http/json\".",
      "Endpoint: capitalised, not a path.",
      "endpoint:no space after the colon",
    ]) {
      expect(invalid(message), message).toEqual({ field: "form", header: null, message });
    }
  });

  it("keeps a multi-line message whole", () => {
    expect(invalid("endpoint: must use https\n(got http).")).toEqual({ field: "endpoint", header: null, message: "The endpoint must use https\n(got http)." });
  });
});
