/**
 * The parsers against real readings from an H200 host (fixtures/gpu-host-h200, copied from the shared
 * fixture set): nvidia-smi CSV with and without units, compute apps, /proc and cgroup v2 files.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cgroupV2Path, cpuUsageUsec, hasProcesses, isPopulated, parseFlatKeyed, workingSetBytes } from "../../src/readings/cgroup-files";
import { MIB, numericCell, parseComputeApps, parseCsvRows, parseGpus } from "../../src/readings/nvidia-smi-csv";
import { FIXTURES } from "../support/fake-host";

const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), "utf8");
const lines = (name: string) => fixture(name).split("\n").filter((l) => l !== "");

/** One `## title` section of cgroup-proc.txt. */
function section(title: string): string {
  const text = fixture("cgroup-proc.txt");
  const start = text.indexOf(`## ${title}\n`);
  expect(start, title).toBeGreaterThanOrEqual(0);
  const body = text.slice(start + title.length + 4);
  const end = body.indexOf("\n## ");
  return end === -1 ? body : body.slice(0, end + 1);
}

// The fields the fixtures were captured with (their README), as nvidia-smi names them in the header.
const CAPTURED_GPU_FIELDS = [
  "index", "uuid", "name", "driver_version", "memory.total", "memory.used", "memory.free", "utilization.gpu",
  "utilization.memory", "temperature.gpu", "power.draw", "clocks.current.sm",
];
const CAPTURED_APP_FIELDS = ["pid", "process_name", "used_gpu_memory", "gpu_uuid"];
const UUID = "GPU-00000000-1111-2222-3333-444444444444";

describe("nvidia-smi --query-gpu CSV (H200 fixtures)", () => {
  it.each([
    ["busy, --format=csv (header and units)", "nvidia-smi-query-busy.csv", [0, 1], { used: 20085, free: 123072, util: 100, power: 426 }],
    ["busy, csv,noheader,nounits", "nvidia-smi-query-busy.csv", [2], { used: 20085, free: 123072, util: 100, power: 431.76 }],
    ["idle, --format=csv (header and units)", "nvidia-smi-query-idle.csv", [0, 1], { used: 0, free: 143156, util: 0, power: 123.49 }],
    ["idle, csv,noheader,nounits", "nvidia-smi-query-idle.csv", [2], { used: 0, free: 143156, util: 0, power: 122.68 }],
  ])("%s", (_, file, pick, want) => {
    const text = pick.map((i) => lines(file)[i]).join("\n");
    const { rows, problems } = parseCsvRows(text, CAPTURED_GPU_FIELDS);
    expect(problems).toEqual([]);
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.uuid).toBe(UUID);
    expect(row.name).toBe("NVIDIA H200");
    expect(numericCell(row["memory.total"])).toBe(143771);
    expect(numericCell(row["memory.used"])).toBe(want.used);
    expect(numericCell(row["memory.free"])).toBe(want.free);
    expect(numericCell(row["utilization.gpu"])).toBe(want.util);
    expect(numericCell(row["power.draw"])).toBe(want.power);
  });

  it("reads the agent's own query (index, uuid, utilization.gpu, memory.used, memory.total) in bytes", () => {
    // The busy capture's nounits row, reduced to the agent's fields in the agent's order.
    const row = lines("nvidia-smi-query-busy.csv")[2]!.split(", ");
    const text = [row[0], row[1], row[7], row[5], row[4]].join(", ");
    expect(parseGpus(`${text}\n`)).toEqual({
      devices: [{ index: 0, uuid: UUID, utilizationPercent: 100, memoryUsedBytes: 20085 * MIB, memoryTotalBytes: 143771 * MIB }],
      problems: [],
    });
  });

  it("turns [N/A] and [Not Supported] into null and reports a line with the wrong number of values", () => {
    const text = `0, ${UUID}, [N/A], 20085, [Not Supported]\n1, ${UUID}, 5\n`;
    const parsed = parseGpus(text);
    expect(parsed.devices).toEqual([{ index: 0, uuid: UUID, utilizationPercent: null, memoryUsedBytes: 20085 * MIB, memoryTotalBytes: null }]);
    expect(parsed.problems).toEqual([`line 2: 3 values for 5 fields: "1, ${UUID}, 5"`]);
  });

  it.each([
    ["20076", 20076],
    ["20076 MiB", 20076],
    ["100 %", 100],
    ["426.00 W", 426],
    ["[N/A]", null],
    ["[Not Supported]", null],
    ["N/A", null],
    ["", null],
    ["-1", null],
    ["12abc", null],
  ])("numericCell(%j) = %s", (cell, value) => {
    expect(numericCell(cell)).toBe(value);
  });
});

describe("nvidia-smi --query-compute-apps CSV (H200 fixture)", () => {
  it.each([
    ["--format=csv (header and units)", [0, 1]],
    ["csv,noheader,nounits", [2]],
  ])("%s: pid 417 holds 20076 MiB", (_, pick) => {
    const text = pick.map((i) => lines("nvidia-smi-compute-apps.csv")[i]).join("\n");
    const { rows, problems } = parseCsvRows(text, CAPTURED_APP_FIELDS);
    expect(problems).toEqual([]);
    expect(rows).toEqual([{ pid: "417", process_name: "python3", used_gpu_memory: expect.stringMatching(/^20076( MiB)?$/), gpu_uuid: UUID }]);
  });

  it("the agent's query gives the bytes NVML reported for the same process", () => {
    const nvml = JSON.parse(fixture("nvml-busy.json")) as { gpus: { compute_processes: { pid: number; used_gpu_memory: number }[] }[] };
    const row = lines("nvidia-smi-compute-apps.csv")[2]!.split(", ");
    const { processes, problems } = parseComputeApps([row[0], row[2], row[3]].join(", "));
    expect(problems).toEqual([]);
    expect(processes).toEqual([{ pid: 417, gpuUuid: UUID, usedMemoryBytes: 21_051_211_776 }]);
    expect(processes[0]!.usedMemoryBytes).toBe(nvml.gpus[0]!.compute_processes[0]!.used_gpu_memory);
  });

  it("reads no processes from empty output or an old driver's 'No running processes found'", () => {
    expect(parseComputeApps("")).toEqual({ processes: [], problems: [] });
    expect(parseComputeApps("No running processes found\n")).toEqual({ processes: [], problems: [] });
  });

  it("keeps a process whose memory is [N/A] (with null) and reports a row without pid", () => {
    const parsed = parseComputeApps(`418, [N/A], ${UUID}\n[N/A], 5, ${UUID}\n`);
    expect(parsed.processes).toEqual([{ pid: 418, gpuUuid: UUID, usedMemoryBytes: null }]);
    expect(parsed.problems).toHaveLength(1);
  });
});

describe("cgroup v2 and /proc files (H200 host fixture)", () => {
  it("cpu.stat: usage_usec and the other counters", () => {
    const text = section("/sys/fs/cgroup/cpu.stat");
    expect(cpuUsageUsec(text)).toBe(27_777_043);
    const all = parseFlatKeyed(text);
    expect(all.get("user_usec")! + all.get("system_usec")!).toBe(27_777_042);
    expect(all.get("nr_throttled")).toBe(0);
  });

  it("memory.stat: the keys of the capture; a memory.stat without inactive_file subtracts nothing", () => {
    const stat = section("/sys/fs/cgroup/memory.stat (head)");
    const keys = parseFlatKeyed(stat);
    expect(keys.get("anon")).toBe(2_334_720);
    expect(keys.get("file")).toBe(2_079_772_672);
    expect(keys.get("shmem")).toBe(7_544_832);
    expect(keys.has("inactive_file")).toBe(false);
    expect(workingSetBytes("3000000000\n", stat)).toBe(3_000_000_000);
  });

  it("the host had no memory.current at the root: no working set from an error message", () => {
    const missing = section("/sys/fs/cgroup/memory.current");
    expect(missing).toMatch(/No such file/);
    expect(workingSetBytes(missing, section("/sys/fs/cgroup/memory.stat (head)"))).toBeUndefined();
  });

  it("working set = memory.current - inactive_file, never below 0", () => {
    expect(workingSetBytes("8589934592\n", "anon 1\ninactive_file 1073741824\nactive_file 5\n")).toBe(7_516_192_768);
    expect(workingSetBytes("100\n", "inactive_file 4096\n")).toBe(0);
  });

  it("/proc/self/cgroup: the v2 path", () => {
    expect(cgroupV2Path(section("/proc/self/cgroup"))).toBe("/process_api/0000");
    // A host with v1 hierarchies next to the unified one.
    expect(cgroupV2Path("12:memory:/docker/abc\n1:name=systemd:/x\n0::/apps/p-abcd/m/c1\n")).toBe("/apps/p-abcd/m/c1");
    expect(cgroupV2Path("12:memory:/docker/abc\n")).toBeUndefined();
  });

  it("cgroup.events populated and cgroup.procs", () => {
    expect(isPopulated("populated 1\nfrozen 0\n")).toBe(true);
    expect(isPopulated("populated 0\nfrozen 0\n")).toBe(false);
    expect(isPopulated("frozen 0\n")).toBeUndefined();
    expect(hasProcesses("417\n418\n")).toBe(true);
    expect(hasProcesses("")).toBe(false);
  });

  it("the root listing shows the controller files the agent relies on", () => {
    const listing = section("cgroup root listing").split("\n");
    expect(listing).toEqual(expect.arrayContaining(["cpu.stat", "memory.stat", "cgroup.procs"]));
  });
});
