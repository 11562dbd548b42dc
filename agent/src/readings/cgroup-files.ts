/**
 * Parsers for the cgroup v2 and /proc files the agent reads (kernel Documentation/admin-guide/cgroup-v2.rst).
 * Pure: text in, numbers out; undefined where the file does not say.
 */

/** "key value" lines, as in cpu.stat and memory.stat. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(\S+) (\d+)$/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** cpu.stat `usage_usec`: CPU time used by the cgroup and its descendants since it was created, in µs. */
export function cpuUsageUsec(cpuStat: string): number | undefined {
  return parseFlatKeyed(cpuStat).get("usage_usec");
}

/**
 * The working set: `memory.current` minus memory.stat's `inactive_file` (page cache the kernel can drop
 * first), floored at 0 — what the kubelet and cAdvisor report as container_memory_working_set_bytes.
 * A memory.stat without `inactive_file` subtracts nothing.
 */
export function workingSetBytes(memoryCurrent: string, memoryStat: string): number | undefined {
  const current = /^\d+$/.exec(memoryCurrent.trim());
  if (!current) return undefined;
  const usage = Number(current[0]);
  const inactiveFile = parseFlatKeyed(memoryStat).get("inactive_file") ?? 0;
  return Math.max(0, usage - inactiveFile);
}

/** cgroup.events `populated`: whether any process lives in the cgroup or below it. */
export function isPopulated(cgroupEvents: string): boolean | undefined {
  const populated = parseFlatKeyed(cgroupEvents).get("populated");
  return populated === undefined ? undefined : populated !== 0;
}

/** The cgroup v2 path in /proc/<pid>/cgroup: the `0::<path>` line (v1 hierarchies have other numbers). */
export function cgroupV2Path(procCgroup: string): string | undefined {
  for (const line of procCgroup.split("\n")) {
    if (line.startsWith("0::/")) return line.slice(3).trimEnd();
  }
  return undefined;
}

/** cgroup.procs holds one PID per line for processes directly in this cgroup. */
export function hasProcesses(cgroupProcs: string): boolean {
  return /\d/.test(cgroupProcs);
}
