// Bundles a TypeScript benchmark from bench/ with esbuild into .tmp/ so Node can run it.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

export const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Bundles bench/<name>.ts into .tmp/<outName>.mjs and returns its path. */
export async function bundleBench(name, outName = name) {
  const outfile = path.join(root, ".tmp", `${outName}.mjs`);
  await build({
    entryPoints: [path.join(root, "bench", `${name}.ts`)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    logLevel: "warning",
    // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    plugins: [
      {
        // The e2e harness and the test receiver find their files through import.meta (the project root,
        // ./otlp/*.proto), so they stay in place and Node runs them as TypeScript (type stripping).
        name: "keep-test-helpers-in-place",
        setup(b) {
          b.onResolve({ filter: /\/test\// }, (args) => ({ path: `${path.resolve(args.resolveDir, args.path)}.ts`, external: true }));
        },
      },
    ],
  });
  return outfile;
}
