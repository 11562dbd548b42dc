// @ts-check
/**
 * The product guide's example PromQL queries ("Viewing Metrics"), with a project id and an app name
 * filled in, and the app names a preview's OTLP/JSON request carries (the page's app picker).
 */

/** A PromQL string literal's content: backslashes and double quotes escaped. */
function label(value) {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
}

/**
 * @param {string} projectId
 * @param {string} appName
 * @returns {{ title: string, query: string }[]}
 */
export function guideQueries(projectId, appName) {
  const p = `project_id="${label(projectId)}"`;
  const a = `app_name="${label(appName)}"`;
  return [
    { title: "CPU usage by app", query: `cerebrium_cpu_utilization_cores{${p}}` },
    { title: "Memory for a specific app", query: `cerebrium_memory_usage_bytes{${a}}` },
    { title: "Container scaling over time", query: `cerebrium_containers_running_count{${p}}` },
    { title: "Request rate (requests per second over 5 minutes)", query: `rate(cerebrium_run_total{${p}}[5m])` },
    { title: "p99 execution latency", query: `histogram_quantile(0.99, rate(cerebrium_run_execution_time_ms_milliseconds_bucket{${a}}[5m]))` },
    { title: "p99 end-to-end response time", query: `histogram_quantile(0.99, rate(cerebrium_run_response_time_ms_milliseconds_bucket{${a}}[5m]))` },
    { title: "Error rate as a percentage", query: `rate(cerebrium_run_errors_total{${a}}[5m]) / rate(cerebrium_run_total{${a}}[5m]) * 100` },
    {
      title: "Average cold start time",
      query: `rate(cerebrium_run_coldstart_time_ms_milliseconds_sum{${a}}[5m]) / rate(cerebrium_run_coldstart_time_ms_milliseconds_count{${a}}[5m])`,
    },
    { title: "List all Cerebrium metrics", query: `{__name__=~"cerebrium_.*", ${p}}` },
  ];
}

/** @param {any} attributes an OTLP/JSON attribute list @param {Set<string>} into */
function collectAppName(attributes, into) {
  for (const a of attributes ?? []) if (a?.key === "app_name" && typeof a.value?.stringValue === "string") into.add(a.value.stringValue);
}

/**
 * The `app_name`s in an OTLP/JSON ExportMetricsServiceRequest (resource or data point attributes),
 * sorted. Anything that is not such a request gives none.
 * @param {any} request
 * @returns {string[]}
 */
export function appNamesOf(request) {
  const apps = new Set();
  for (const rm of request?.resourceMetrics ?? []) {
    collectAppName(rm?.resource?.attributes, apps);
    for (const sm of rm?.scopeMetrics ?? []) {
      for (const m of sm?.metrics ?? []) {
        for (const dp of [...(m?.gauge?.dataPoints ?? []), ...(m?.sum?.dataPoints ?? []), ...(m?.histogram?.dataPoints ?? [])]) collectAppName(dp?.attributes, apps);
      }
    }
  }
  return [...apps].sort();
}
