// `npm run soak`: bundles bench/soak.ts and runs it under this Node (see that file).
// Prints a summary; it also lands in .tmp/soak.json. Exit code 1 when the soak finds a problem.
import { spawnSync } from "node:child_process";
import { bundleBench, root } from "./bundle.mjs";

const outfile = await bundleBench("soak");
const run = spawnSync(process.execPath, [outfile], { cwd: root, stdio: "inherit" });
process.exitCode = run.status ?? 1;
