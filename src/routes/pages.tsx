/**
 * The Metrics Export page and its sign-in (issue 13): `GET /` (sign in with a project key),
 * `POST /session` (opens a session cookie, src/session.ts), `POST /session/sign-out`, the page
 * itself at `/projects/{project_id}/integrations/metrics-export`, and the Grafana dashboard
 * download. Scripts and styles are static assets (public/assets/); the page talks to the JSON API.
 */
import { Hono, type Context } from "hono";
import dashboard from "../../dashboards/grafana-metrics-export.json";
import { readFormBody } from "../body";
import type { AppEnv } from "../context";
import { ApiError } from "../errors";
import { findKey, looksLikeKey, sha256Hex } from "../keys";
import { MetricsExportPage } from "../page/metrics-export-page";
import { htmlDocument } from "../page/layout";
import { SignInPage } from "../page/sign-in";
import { findProject } from "../projects";
import { createSession, deleteSession, findSession, formPostFromAnotherSite, sessionCookie, sessionToken, type Session } from "../session";
import { PROJECT_ID } from "./shared";

export const pageRoutes = new Hono<AppEnv>();

const MAX_FORM_BYTES = 4096;
const DASHBOARD_JSON = JSON.stringify(dashboard, null, 2) + "\n";

export function pagePath(projectId: string): string {
  return `/projects/${projectId}/integrations/metrics-export`;
}

async function currentSession(c: Context<AppEnv>): Promise<{ token: string; session: Session } | null> {
  const token = sessionToken(c.req.url, c.req.header("cookie"));
  if (token === null) return null;
  const session = await findSession(c.env.DB, token);
  return session === null ? null : { token, session };
}

/** Form posts (no custom header possible) are refused when the browser says another site sent them. */
function fromAnotherSite(c: Context<AppEnv>): boolean {
  return formPostFromAnotherSite(c.req.url, c.req.header("sec-fetch-site"), c.req.header("origin"));
}

function signIn(c: Context<AppEnv>, status: 200 | 401 | 403 | 413 | 415, error?: string) {
  return c.html(htmlDocument(<SignInPage error={error} signedOut={c.req.query("signed-out") !== undefined && error === undefined} />), status);
}

pageRoutes.get("/", async (c) => {
  const current = await currentSession(c);
  if (current !== null) return c.redirect(pagePath(current.session.projectId), 303);
  return signIn(c, 200);
});

pageRoutes.post("/session", async (c) => {
  if (fromAnotherSite(c)) return signIn(c, 403, "Sign in from this page: the form was sent by another site.");
  let form: URLSearchParams;
  try {
    form = await readFormBody(c, MAX_FORM_BYTES);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 413 || err.status === 415)) return signIn(c, err.status, err.message);
    throw err;
  }
  const key = (form.get("project_key") ?? "").trim();
  if (key === "") return signIn(c, 401, "Enter your project key.");
  if (!looksLikeKey(key) || !key.startsWith("cmx_pk_")) {
    return signIn(c, 401, "That is not a project key: project keys start with cmx_pk_ (ingest keys and the admin token do not open this page).");
  }
  const record = await findKey(c.env.DB, await sha256Hex(key));
  if (record === null) return signIn(c, 401, "That project key is not known. Check that it was copied whole, or ask your administrator for a new one.");
  if (record.revoked) return signIn(c, 401, "That project key has been revoked. Ask your administrator for a new one.");
  const projectId = record.projectId!;
  // Signing in again (perhaps to another project) ends this browser's previous session.
  const previous = sessionToken(c.req.url, c.req.header("cookie"));
  if (previous !== null) await deleteSession(c.env.DB, previous);
  const token = await createSession(c.env.DB, record.keyId, projectId);
  c.header("Set-Cookie", sessionCookie(c.req.url, token));
  return c.redirect(pagePath(projectId), 303);
});

pageRoutes.post("/session/sign-out", async (c) => {
  if (fromAnotherSite(c)) return signIn(c, 403, "Sign out from this page: the form was sent by another site.");
  const token = sessionToken(c.req.url, c.req.header("cookie"));
  if (token !== null) await deleteSession(c.env.DB, token);
  c.header("Set-Cookie", sessionCookie(c.req.url, null));
  return c.redirect("/?signed-out", 303);
});

pageRoutes.get("/projects/:project_id/integrations/metrics-export", async (c) => {
  const projectId = c.req.param("project_id");
  const current = await currentSession(c);
  if (current === null) return c.redirect("/", 303);
  if (current.session.projectId !== projectId || !PROJECT_ID.test(projectId)) {
    return signIn(c, 403, `You are signed in to project ${current.session.projectId}. Sign out and sign in with a key of this project to open its page.`);
  }
  const project = await findProject(c.env.DB, projectId);
  if (project === null) return signIn(c, 403, "This project no longer exists.");
  const exportIntervalSeconds = c.get("settings").exportIntervalMs / 1000;
  return c.html(htmlDocument(<MetricsExportPage projectId={projectId} projectName={project.name} exportIntervalSeconds={exportIntervalSeconds} />));
});

pageRoutes.get("/dashboards/grafana-metrics-export.json", (c) =>
  c.body(DASHBOARD_JSON, 200, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Disposition": 'attachment; filename="grafana-metrics-export.json"',
    "Cache-Control": "public, max-age=300",
  }),
);
