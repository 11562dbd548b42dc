// @ts-check
/** The product guide's example PromQL queries ("Viewing Metrics"), with a project id and an app name filled in. */

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
