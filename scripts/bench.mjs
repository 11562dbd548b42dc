// `npm run bench`: the export build+encode benchmark (scripts/bench-export.mjs, run BENCH_EXPORT_RUNS
// times, median of each figure) and the ingest benchmark (bench/ingest.ts through the real worker; it
// takes its own medians over rounds), then ONE combined markdown table on stdout and in
// docs/benchmarks.md with the machine described. Progress goes to stderr.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { bundleBench, root } from "./bundle.mjs";

const EXPORT_RUNS = Number(process.env.BENCH_EXPORT_RUNS ?? 3);
const EXPORT_RESULTS = path.join(root, ".tmp", "bench-export.json");
const INGEST_RESULTS = path.join(root, ".tmp", "bench-ingest.json");
const DOC = path.join(root, "docs", "benchmarks.md");
// Generous bounds; each child also stops itself.
const EXPORT_TIMEOUT_MS = 10 * 60_000;
const INGEST_TIMEOUT_MS = 25 * 60_000;

const log = (line) => process.stderr.write(`${line}\n`);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const num = (n, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "n/a";
const kib = (bytes) => `${num(bytes / 1024, 1)} KiB`;
const packageVersion = (...where) => JSON.parse(readFileSync(path.join(root, "node_modules", ...where, "package.json"), "utf8")).version;

function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  const mhz = /^cpu MHz\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim();
  return {
    cpu: mhz ? `${model} (${Math.round(Number(mhz))} MHz)` : model,
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    wrangler: packageVersion("wrangler"),
    // wrangler dev runs its own copy of workerd; the top-level one is the test plugin's.
    workerd: packageVersion("wrangler", "node_modules", "workerd"),
    workerdTests: packageVersion("workerd"),
  };
}

// ---------------------------------------------------------------------------------------------------
// Export build + encode: repeated runs of the existing benchmark, median of each figure.

function runExportBench() {
  const runs = [];
  for (let i = 1; i <= EXPORT_RUNS; i++) {
    log(`export bench: run ${i} of ${EXPORT_RUNS}`);
    rmSync(EXPORT_RESULTS, { force: true });
    const run = spawnSync(process.execPath, [path.join(root, "scripts", "bench-export.mjs")], {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
      encoding: "utf8",
      timeout: EXPORT_TIMEOUT_MS,
    });
    // Exit code 1 only means its target was missed; the figures are still there.
    let result;
    try {
      result = JSON.parse(readFileSync(EXPORT_RESULTS, "utf8"));
    } catch {
      throw new Error(`scripts/bench-export.mjs produced no results (exit ${run.status}):\n${run.stdout ?? ""}`);
    }
    runs.push(result);
  }
  const rows = runs[0].rows.map((first, index) => {
    const of = (field) => median(runs.map((r) => r.rows[index][field]));
    return {
      apps: first.apps,
      oursMs: of("oursBuildEncodeMs"),
      sdkMs: of("sdkCollectSerializeMs"),
      sdkSerializerOnlyMs: of("sdkSerializeMs"),
      // Each run's ratio is measured side by side in one process; the median of those ratios.
      speedup: of("speedupVsSdk"),
      oursBytes: first.oursBytes,
      oursGzipBytes: first.oursGzipBytes,
    };
  });
  return { runs: runs.length, rows, payload: runs[0].payload, observationsPerHistogram: runs[0].observationsPerHistogram };
}

// ---------------------------------------------------------------------------------------------------
// Ingest through the real worker.

async function runIngestBench() {
  const outfile = await bundleBench("ingest", "bench-ingest");
  log("ingest bench: starting the worker (wrangler dev)");
  rmSync(INGEST_RESULTS, { force: true });
  // Its table and progress go to stderr: stdout is kept for the combined table.
  const run = spawnSync(process.execPath, [outfile], { cwd: root, stdio: ["ignore", 2, 2], timeout: INGEST_TIMEOUT_MS });
  let result;
  try {
    result = JSON.parse(readFileSync(INGEST_RESULTS, "utf8"));
  } catch {
    throw new Error(`bench/ingest.ts produced no results (exit ${run.status ?? run.signal})`);
  }
  return { ...result, exitCode: run.status };
}

// ---------------------------------------------------------------------------------------------------
// The table and the document.

function table(exp, ing) {
  const lines = [
    "| Benchmark | Figure | Result | Target |",
    "|---|---|---|---|",
  ];
  for (const r of exp.rows) {
    const target = r.apps === 1000 ? `< 50 ms and ≥ 3× the SDK: **${r.oursMs < 50 && r.speedup >= 3 ? "met" : "missed"}**` : "";
    lines.push(
      `| Export build + encode, ${num(r.apps)} apps | ours / SDK (collect + serialize), ms; ours × faster | ${num(r.oursMs, 2)} / ${num(r.sdkMs, 2)} ms; **${num(r.speedup, 1)}×** | ${target} |`,
    );
  }
  const p = exp.payload;
  lines.push(`| Payload per push, ${num(p.apps)} apps | protobuf: gzip / none | ${kib(p.protobufGzipBytes)} / ${kib(p.protobufBytes)} | |`);
  lines.push(`| Payload per push, ${num(p.apps)} apps | JSON: gzip / none | ${kib(p.jsonGzipBytes)} / ${kib(p.jsonBytes)} | |`);
  for (const l of ing.levels) {
    const eventsTarget = l.ingest.medianEventsPerS >= ing.targets.eventsPerS.target ? "met" : "missed";
    const ratioTarget = l.ratio >= ing.targets.ratio.target ? "met" : "missed";
    lines.push(
      `| Ingest, ${l.concurrency} client${l.concurrency > 1 ? "s" : ""} (batches of ${ing.samplesPerBatch}) | run events/s (p50 / p99 ms): into one object vs parse-only baseline; ratio | ` +
        `${num(l.ingest.medianEventsPerS)} (${num(l.ingest.p50Ms, 1)} / ${num(l.ingest.p99Ms, 1)}) vs ${num(l.baseline.medianEventsPerS)} (${num(l.baseline.p50Ms, 1)} / ${num(l.baseline.p99Ms, 1)}); **${num(l.ratio, 3)}** | ` +
        `≥ 50,000/s: ${eventsTarget}; ratio ≥ 0.5: ${ratioTarget} |`,
    );
  }
  const c = ing.objectCost;
  const one = ing.levels.find((l) => l.concurrency === 1);
  const cpuDelta = one ? one.ingest.serverCpuMsPerRequest - one.baseline.serverCpuMsPerRequest : NaN;
  lines.push(`| Rows written per batch | median of ${c.batches} batches of ${c.samplesPerBatch} run events (${c.seriesTouchedPerBatch} series touched) | ${num(c.rowsPerBatch)} | |`);
  lines.push(
    `| Time per batch in the object | last_ingest.duration_ms, median (p90) · worker CPU per batch, ingest − baseline, 1 client | ${num(c.msPerBatch, 2)} (${num(c.msPerBatchP90, 2)}) ms · ${num(cpuDelta, 1)} ms | |`,
  );
  lines.push(`| SQLite bytes per app | one batch of ${num(ing.storage.apps)} apps × (resource + run sample), database_size_bytes after − before | ${num(ing.storage.bytesPerApp)} B | |`);
  return lines.join("\n");
}

function interpretation(exp, ing) {
  const at1000 = exp.rows.find((r) => r.apps === 1000);
  const at10000 = exp.rows.find((r) => r.apps === 10000);
  const best = ing.levels.reduce((a, l) => (l.ingest.medianEventsPerS > a.ingest.medianEventsPerS ? l : a));
  const one = ing.levels.find((l) => l.concurrency === 1);
  const missedRatio = ing.levels.filter((l) => l.ratio < ing.targets.ratio.target);
  const otherCores = median(ing.levels.flatMap((l) => [l.ingest.otherCores, l.baseline.otherCores]));
  const spread = Math.max(
    ...ing.levels.flatMap((l) => [l.ingest, l.baseline]).map((t) => Math.max(...t.roundsEventsPerS) / Math.min(...t.roundsEventsPerS) - 1),
  );
  const out = [];
  out.push(
    `- **Export**: at 1,000 apps our path from aggregated state to protobuf bytes takes ${num(at1000.oursMs, 2)} ms against ` +
      `${num(at1000.sdkMs, 2)} ms for the OpenTelemetry SDK (${num(at1000.speedup, 1)}×; the SDK's serializer alone takes ` +
      `${num(at1000.sdkSerializerOnlyMs, 2)} ms): the target (< 50 ms, ≥ 3×) is **${at1000.oursMs < 50 && at1000.speedup >= 3 ? "met" : "missed"}**. ` +
      `The bytes are identical to the SDK serializer's (checked on every run). At 10,000 apps (130,000 points, ${kib(at10000.oursBytes)}) ` +
      `ours takes ${num(at10000.oursMs, 1)} ms, ${num(at10000.speedup, 1)}× the SDK.`,
  );
  out.push(
    `- **Payload**: one push for 1,000 apps is ${kib(exp.payload.protobufGzipBytes)} as gzipped protobuf (the default) and ` +
      `${kib(exp.payload.protobufBytes)} uncompressed; OTLP/JSON is ${num(exp.payload.jsonBytes / exp.payload.protobufBytes, 1)}× larger raw but compresses to ` +
      `${kib(exp.payload.jsonGzipBytes)}. Uncompressed protobuf for 1,000 apps stays under the 4 MiB per-request limit; Datadog's 512,000-byte limit splits it.`,
  );
  const eventsMet = best.ingest.medianEventsPerS >= ing.targets.eventsPerS.target;
  out.push(
    `- **Ingest**: the best level, ${best.concurrency} concurrent clients, accepted ${num(best.ingest.medianEventsPerS)} run events/s into one project's ` +
      `object: the ≥ 50,000/s target is **${eventsMet ? "met" : "missed"}**` +
      (one.ingest.medianEventsPerS < ing.targets.eventsPerS.target
        ? ` (with a single client it is ${num(one.ingest.medianEventsPerS)}/s: each batch waits for the previous answer, so the worker idles during every round trip)`
        : "") +
      `. Against the parse-only baseline the ratio is ` +
      ing.levels.map((l) => `${num(l.ratio, 3)} at ${l.concurrency}`).join(", ") +
      ` client(s): the ≥ 0.5 target is ${missedRatio.length === 0 ? "**met** at every level" : `**missed** at ${missedRatio.map((l) => `${l.concurrency}`).join(" and ")} client(s)`}. ` +
      `Every response was checked (202, all 500 accepted, no duplicates); ${ing.levels.reduce((a, l) => a + l.ingest.failures + l.baseline.failures, 0)} failed. ` +
      `Afterwards the object's next export carried exactly the ${num(ing.integrity.acceptedRuns)} runs accepted (${ing.integrity.ok ? "nothing lost or double-counted" : "**MISMATCH**"}).`,
  );
  out.push(
    `- **What limits ingest here**: CPU. With one client a batch costs the worker ${num(one.ingest.serverCpuMsPerRequest, 1)} ms of CPU ` +
      `(wrangler and its two workerd processes: the dev proxy, and the worker with its object) against ${num(one.baseline.serverCpuMsPerRequest, 1)} ms ` +
      `for auth + body parse alone, so per-sample validation, the RPC into the object, aggregation and the SQLite transaction cost about ` +
      `${num(one.ingest.serverCpuMsPerRequest - one.baseline.serverCpuMsPerRequest, 1)} ms per batch on top of parsing. ` +
      `Under concurrency (${best.concurrency} clients) the busiest workerd thread ran at ${num(best.ingest.busiestThreadCores, 2)} cores during ingest ` +
      `against ${num(best.baseline.busiestThreadCores, 2)} for the baseline: ` +
      (best.ingest.busiestThreadCores >= 0.85
        ? `ingest is bound by that one thread, the isolate that runs both the stateless worker code and the project's object under \`wrangler dev\`, ` +
          `while the baseline never touches the object and is bound by the machine's two cores (worker processes ${num(best.baseline.serverCores, 2)} cores). ` +
          (ing.levels[ing.levels.length - 1].ratio < ing.levels[0].ratio
            ? `That is why the ratio falls as clients are added: more clients only lengthen the queue in front of that thread. `
            : "")
        : `no single thread was saturated, so the machine's cores as a whole were the limit. `) +
      `The load generator used ${num(best.ingest.clientCores, 2)} cores, so it was not the bottleneck. Other jobs on this shared machine used a median of ` +
      `${num(otherCores, 2)} of the ${ing.cores ?? 2} cores during the measured windows (load average ${ing.loadAverageBefore.map((n) => n.toFixed(2)).join(" / ")} at the start); ` +
      `absolute figures move with that, and this VM also varies on its own: rounds of the same level differed by up to ${num(spread * 100)}% in this run ` +
      `(see the per-round figures below). The ratio, measured in alternating rounds, is the steadier figure. In production the stateless part runs in other isolates, ` +
      `so only the object's own share (about a millisecond per batch, see below, plus decoding the RPC) would limit one project's throughput.`,
  );
  out.push(
    `- **Where the ingest CPU goes** (a CPU profile of the worker's isolate through wrangler's inspector, 8 clients, taken once by hand on ` +
      `2026-11-26, not part of this script): reading the body and \`JSON.parse\` ~28% of busy time, validating the samples ~7%, the RPC ` +
      `call into the object ~17% (the structured clone of 500 sample objects, attributed to the call site), the object's \`ingest()\` ~12% ` +
      `(half of it the SQLite transaction), garbage collection ~4%, and ~20% native time the profiler does not attribute (it includes ` +
      `deserialising the RPC in the object). For the parse-only route, reading and parsing the body is ~70% of busy time. That profile ` +
      `was taken when the worker handed the object 500 sample objects; the hand-off is now typed-array columns ` +
      `(\`src/aggregation/packed-samples.ts\`), which cut the CPU ingest adds per batch from about 4 ms to about 2.5 ms and lifted ` +
      `the ratio to the baseline above 0.5 at every level. What remains is mostly reading and parsing the body, which the baseline pays too.`,
  );
  out.push(
    `- **Rows per batch**: ${num(ing.objectCost.rowsPerBatch)} = one row per touched (app, region) series (${ing.objectCost.seriesTouchedPerBatch}) + the batch-ledger row and its \`applied_at\` index entry (SQLite counts both) ` +
      `(+ one per host report when the batch has resource samples), whatever the batch size.`,
  );
  out.push(
    `- **Time per batch in the object**: \`last_ingest.duration_ms\` (the object's own \`ingest()\`: ledger check, aggregation, one SQLite ` +
      `transaction) reads ${num(ing.objectCost.msPerBatch, 2)} ms median, ${num(ing.objectCost.msPerBatchP90, 2)} ms p90. workerd's clock has 1 ms ` +
      `resolution locally, so read it as "about a millisecond". Most of the ${num(one.ingest.serverCpuMsPerRequest - one.baseline.serverCpuMsPerRequest, 1)} ms ` +
      `of CPU that ingest adds to parsing is therefore spent outside that call: validating 500 samples in the worker and serialising them ` +
      `into the object over RPC (and deserialising them there).`,
  );
  out.push(
    `- **Storage**: ${num(ing.storage.bytesPerApp)} bytes of SQLite per app with one host report (one \`series\` row with its packed histograms ` +
      `and one \`host_reports\` row); 2,000 series, the per-project limit, would take about ${num((ing.storage.bytesPerApp * 2000) / 2 ** 20, 1)} MiB plus the batch ledger.`,
  );
  return out.join("\n");
}

function document(m, exp, ing, tableText, startedAt) {
  return `# Benchmarks

Latest results of \`npm run bench\` (${startedAt}). Regenerated by \`scripts/bench.mjs\`; do not edit by hand.

${tableText}

Export figures are medians of ${exp.runs} runs of \`scripts/bench-export.mjs\` (each itself a median of many iterations;
13 metrics per app, 16 default buckets, ${exp.observationsPerHistogram} observations per histogram; "SDK" is
\`@opentelemetry/sdk-metrics\` \`collect()\` + \`ProtobufMetricsSerializer\`). Ingest figures come from \`bench/ingest.ts\`:
the real worker under \`wrangler dev\` (local storage) on 127.0.0.1, one project, batches of ${ing.samplesPerBatch} run events
(6 apps × 3 regions, log-normal durations, ~10% errors, ~5% cold starts, unique \`batch_id\` each), each level measured in
${ing.rounds} rounds of ${ing.windowSeconds} s per target after a ${ing.warmupSeconds} s warm-up, ingest and baseline alternating;
events/s is the median over rounds, p50/p99 over every request of the level. The baseline is \`POST /_bench/parse\`
(\`BENCH_ROUTES="true"\`): the same authentication and body parsing without validation or storage.

## Machine

| | |
|---|---|
| CPU | ${m.cpu} |
| Cores | ${m.cores} |
| Memory | ${m.memoryGiB} GiB |
| OS | ${m.os} |
| Node | ${m.node} |
| wrangler | ${m.wrangler} |
| workerd | ${m.workerd} (run by \`wrangler dev\`; the test plugin's is ${m.workerdTests}) |
| Load average at the start of the ingest run (1/5/15 min) | ${ing.loadAverageBefore.map((n) => n.toFixed(2)).join(" / ")} |

The machine is shared with other jobs; see "Other load" below.

## How to run

\`\`\`sh
npm run bench                       # about 6 minutes; prints the table and rewrites this file
node scripts/bench-export.mjs       # export build + encode only (.tmp/bench-export.json)
\`\`\`

Knobs: \`BENCH_EXPORT_RUNS\` (default 3), \`BENCH_INGEST_WINDOW_S\` (5), \`BENCH_INGEST_ROUNDS\` (5),
\`BENCH_INGEST_WARMUP_S\` (2). The worker runs with \`WRANGLER_LOG=warn\`: wrangler's per-request log line costs a loopback
call into its Node process that production does not have. Raw results: \`.tmp/bench-export.json\`, \`.tmp/bench-ingest.json\`.

## Interpretation

${interpretation(exp, ing)}

## Other load during the ingest run

| clients | worker cores ingest / baseline | busiest workerd thread, cores | load generator cores | other processes' cores (median of windows) | worker CPU per request ingest / baseline |
|---:|---:|---:|---:|---:|---:|
${ing.levels
  .map(
    (l) =>
      `| ${l.concurrency} | ${num(l.ingest.serverCores, 2)} / ${num(l.baseline.serverCores, 2)} | ${num(l.ingest.busiestThreadCores, 2)} / ${num(l.baseline.busiestThreadCores, 2)} | ` +
      `${num(l.ingest.clientCores, 2)} / ${num(l.baseline.clientCores, 2)} | ` +
      `${num(l.ingest.otherCores, 2)} / ${num(l.baseline.otherCores, 2)} | ${num(l.ingest.serverCpuMsPerRequest, 1)} / ${num(l.baseline.serverCpuMsPerRequest, 1)} ms |`,
  )
  .join("\n")}

Per-round events/s (ingest | baseline): ${ing.levels.map((l) => `${l.concurrency} client(s): ${l.ingest.roundsEventsPerS.map((n) => num(n)).join(", ")} | ${l.baseline.roundsEventsPerS.map((n) => num(n)).join(", ")}`).join("; ")}.
`;
}

const startedAt = new Date().toISOString();
const m = machine();
const exp = runExportBench();
const ing = await runIngestBench();
ing.cores = m.cores;
const tableText = table(exp, ing);
process.stdout.write(`\n${tableText}\n\n`);
writeFileSync(DOC, document(m, exp, ing, tableText, startedAt));
log(`written ${path.relative(root, DOC)}`);
if (ing.exitCode !== 0) {
  log(`bench/ingest.ts exited with ${ing.exitCode}: failed requests or an integrity mismatch (see above)`);
  process.exitCode = 1;
}
