// Bundles bench/export-encode.ts and runs it under this Node: `node scripts/bench-export.mjs`.
// Prints markdown tables (build + encode against the SDK up to 10,000 apps; a split push against one
// unsplit encode at 1,000 and 2,000 apps); results also land in .tmp/bench-export.json. Exit code 1
// when one of its targets is missed (scripts/bench.mjs still uses the figures).
import { spawnSync } from "node:child_process";
import { bundleBench, root } from "./bundle.mjs";

const outfile = await bundleBench("export-encode", "bench-export");
const run = spawnSync(process.execPath, [outfile], { cwd: root, stdio: "inherit" });
process.exitCode = run.status ?? 1;
