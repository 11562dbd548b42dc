// `npm run soak`: bundles bench/soak.ts with esbuild and runs it under this Node (see that file).
// Prints a summary; it also lands in .tmp/soak.json. Exit code 1 when the soak finds a problem.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outfile = path.join(root, ".tmp", "soak.mjs");

await build({
  entryPoints: [path.join(root, "bench", "soak.ts")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  logLevel: "warning",
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  plugins: [
    {
      // The e2e harness and the receiver find their files through import.meta (the project root,
      // ./otlp/*.proto), so they stay in place and Node runs them as TypeScript (type stripping).
      name: "keep-test-helpers-in-place",
      setup(b) {
        b.onResolve({ filter: /\/test\// }, (args) => ({ path: `${path.resolve(args.resolveDir, args.path)}.ts`, external: true }));
      },
    },
  ],
});

const run = spawnSync(process.execPath, [outfile], { cwd: root, stdio: "inherit" });
process.exitCode = run.status ?? 1;
