// Bundles bench/export-encode.ts with esbuild and runs it under this Node: `node scripts/bench-export.mjs`.
// Prints a markdown table; results also land in .tmp/bench-export.json.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outfile = path.join(root, ".tmp", "bench-export.mjs");

await build({
  entryPoints: [path.join(root, "bench", "export-encode.ts")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  logLevel: "warning",
  // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
});

const run = spawnSync(process.execPath, [outfile], { cwd: root, stdio: "inherit" });
process.exitCode = run.status ?? 1;
