/**
 * The worker: one Hono app. Every response gets the security headers; settings are validated first
 * (a misconfigured deployment fails every request with a 500 naming the setting); the pages (sign-in,
 * session, the Metrics Export page) come before API authentication; then the caller is
 * authenticated, then each resource's routes authorise and validate their own input.
 */
import { Hono } from "hono";
import { authMiddleware } from "./auth";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";
import { applySecurityHeaders } from "./page/security-headers";
import { adminExportRoutes } from "./routes/admin-exports";
import { metricsExportRoutes } from "./routes/metrics-export";
import { notificationRoutes } from "./routes/notifications";
import { pageRoutes } from "./routes/pages";
import { projectRoutes } from "./routes/projects";
import { sampleRoutes } from "./routes/samples";
import { settingsOf } from "./settings";

export { ProjectExporter } from "../durable-objects/project-exporter";

const app = new Hono<AppEnv>()
  // First, so it wraps everything: an exception anywhere below (a misconfigured environment, an
  // unexpected error) is turned into onError's answer before `next()` returns here, so 500s get
  // the headers too (test/worker/error-headers.test.ts).
  .use(async (c, next) => {
    await next();
    applySecurityHeaders(c.res.headers);
  })
  .use(async (c, next) => {
    c.set("settings", settingsOf(c.env));
    await next();
  })
  .get("/healthz", (c) => c.json({ ok: true }))
  .route("/", pageRoutes)
  .use(authMiddleware)
  .route("/", projectRoutes)
  .route("/", adminExportRoutes)
  .route("/", metricsExportRoutes)
  .route("/", notificationRoutes)
  .route("/", sampleRoutes);

app.notFound((c) =>
  c.json({ error: { code: "not_found", message: `No route for ${c.req.method} ${new URL(c.req.url).pathname}.` } }, 404),
);

app.onError((err, c) => {
  if (err instanceof ApiError) {
    return c.json({ error: { code: err.code, message: err.message } }, err.status, err.headers);
  }
  // Unknown failures: log the type only (messages may carry request data), answer generically.
  console.error(JSON.stringify({ event: "unhandled_error", method: c.req.method, path: new URL(c.req.url).pathname, error: err.name }));
  return c.json({ error: { code: "internal", message: "Internal error; it has been logged." } }, 500);
});

export default app;
