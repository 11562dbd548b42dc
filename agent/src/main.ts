/**
 * `metrics-export-agent --config agent.json [--check]` (agent/README.md).
 *
 * The ingest key comes from the file or environment variable the configuration names, never from the
 * command line, where every user of the host could read it in the process list.
 */
import { readFile, stat } from "node:fs/promises";
import { Agent, createCollector } from "./agent";
import { isCgroupV2 } from "./readings/collector";
import { ConfigError, parseConfig, type AgentConfig, type IngestKeySource } from "./config";
import { createLogger, errorMessage, type Logger } from "./log";
import { resourceSample } from "./samples";

const USAGE = `Usage: metrics-export-agent --config <file.json> [--check]

  --config <file>  the agent's configuration (JSON, see agent/README.md)
  --check          take two readings and print the containers found, the GPU devices and the
                   resource samples that would be sent, then exit; nothing is posted
  --help           this text

The ingest key is read from the file (ingest_key_file) or environment variable (ingest_key_env,
default METRICS_EXPORT_INGEST_KEY) named in the configuration, never from the command line.
`;
const INGEST_KEY_PREFIX = "cmx_ik_";
const MAX_CHECK_INTERVAL_MS = 2000;

class UsageError extends Error {}

function parseArgs(argv: string[]): { configPath: string; check: boolean } | "help" {
  let configPath: string | undefined;
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return "help";
    if (arg === "--check") check = true;
    else if (arg === "--config") configPath = argv[++i];
    else if (arg.startsWith("--config=")) configPath = arg.slice("--config=".length);
    else if (arg.startsWith(INGEST_KEY_PREFIX)) throw new UsageError("never put the ingest key on the command line; see ingest_key_file / ingest_key_env.");
    else throw new UsageError(`unknown argument "${arg}".`);
  }
  if (configPath === undefined || configPath === "") throw new UsageError("--config <file> is required.");
  return { configPath, check };
}

async function readIngestKey(source: IngestKeySource, log: Logger): Promise<string> {
  let key: string | undefined;
  if (source.kind === "env") {
    key = process.env[source.name]?.trim();
    if (!key) throw new ConfigError(`ingest key: the environment variable ${source.name} is not set.`);
  } else {
    key = (await readFile(source.path, "utf8").catch((e: unknown) => {
      throw new ConfigError(`ingest_key_file: cannot read ${source.path} (${errorMessage(e)}).`);
    })).trim();
    if (!key) throw new ConfigError(`ingest_key_file: ${source.path} is empty.`);
    if (((await stat(source.path)).mode & 0o077) !== 0) log.warn("ingest_key_file_readable_by_others", { path: source.path, fix: `chmod 600 ${source.path}` });
  }
  if (!key.startsWith(INGEST_KEY_PREFIX)) log.warn("ingest_key_unexpected_format", { expected_prefix: INGEST_KEY_PREFIX });
  return key;
}

async function loadConfig(configPath: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(configPath, "utf8");
  } catch (e) {
    throw new ConfigError(`cannot read ${configPath} (${errorMessage(e)}).`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${configPath} is not JSON (${errorMessage(e)}).`);
  }
  return parseConfig(raw, configPath);
}

/** Two readings `interval` apart (at most 2 s), printed as JSON: for checking mapping rules and GPU access on a host. */
async function check(config: AgentConfig, log: Logger): Promise<void> {
  const collector = createCollector(config, log);
  await collector.read();
  await new Promise((resolve) => setTimeout(resolve, Math.min(config.intervalMs, MAX_CHECK_INTERVAL_MS)));
  const r = await collector.read();
  const report = {
    host_id: config.hostId,
    region: config.region,
    cgroup_v2: await isCgroupV2(config.cgroupRoot),
    containers: r.containers,
    unmapped_containers: r.unmappedContainers,
    invalid_containers: r.invalidContainers,
    gpu_devices: r.devices,
    gpu_processes_unmapped: r.unmappedGpuPids,
    nvidia_smi: r.gpuFailure ?? "ok",
    walk_problems: r.walkProblems,
    skipped: r.skipped,
    samples: r.apps.map((app) => resourceSample(app, config.region, Date.now())),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  const config = await loadConfig(args.configPath);
  // --check prints its report on stdout, so its logs go to stderr.
  const log = createLogger({ level: config.logLevel, ...(args.check ? { write: (line: string) => process.stderr.write(line) } : {}) });
  if (args.check) {
    await readIngestKey(config.ingestKey, log);
    await check(config, log);
    return 0;
  }
  const agent = await Agent.start(config, await readIngestKey(config.ingestKey, log), log);
  process.on("uncaughtException", (error) => {
    log.error("uncaught_exception", { error: errorMessage(error), stack: error.stack });
    process.exit(1);
  });
  await new Promise<void>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      // A second signal while stopping means: now.
      if (signalled) process.exit(1);
      signalled = true;
      log.info("signal", { signal });
      agent.stop().then(resolve, (error: unknown) => {
        log.error("stop_failed", { error: errorMessage(error) });
        process.exit(1);
      });
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const known = error instanceof ConfigError || error instanceof UsageError;
    process.stderr.write(`metrics-export-agent: ${known ? (error as Error).message : (error as Error)?.stack ?? String(error)}\n`);
    if (error instanceof UsageError) process.stderr.write(`\n${USAGE}`);
    process.exit(known ? 2 : 1);
  },
);
