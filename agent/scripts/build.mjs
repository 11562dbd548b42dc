// Bundles the agent (agent/src/main.ts and the edge's validator it reuses) into one file with no
// dependencies beyond Node 22: agent/dist/metrics-export-agent.mjs, the `bin` of package.json.
// Bundled rather than run as TypeScript because src/validation/samples.ts uses syntax that Node's
// type stripping refuses (a parameter property), and so that a host needs only this one file.
import { chmod } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const agentDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const AGENT_BUNDLE = path.join(agentDir, "dist", "metrics-export-agent.mjs");

export async function buildAgent() {
  await build({
    entryPoints: [path.join(agentDir, "src", "main.ts")],
    outfile: AGENT_BUNDLE,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    banner: { js: "#!/usr/bin/env node" },
    logLevel: "warning",
  });
  await chmod(AGENT_BUNDLE, 0o755);
  return AGENT_BUNDLE;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildAgent();
