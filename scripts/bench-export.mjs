// Bundles bench/export-encode.ts and runs it under this Node: `node scripts/bench-export.mjs`.
// Prints a markdown table; results also land in .tmp/bench-export.json.
import { spawnSync } from "node:child_process";
import { bundleBench, root } from "./bundle.mjs";

const outfile = await bundleBench("export-encode", "bench-export");
const run = spawnSync(process.execPath, [outfile], { cwd: root, stdio: "inherit" });
process.exitCode = run.status ?? 1;
