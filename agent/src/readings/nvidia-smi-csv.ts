/**
 * nvidia-smi's CSV output (`--query-gpu=… / --query-compute-apps=… --format=csv[,noheader][,nounits]`).
 *
 * Values are separated by ", "; with units they carry a suffix (`20076 MiB`, `100 %`); memory is in MiB
 * (the header says `[MiB]`). Fields a GPU or driver cannot report read `[N/A]` or `[Not Supported]`:
 * those become null rather than 0, so that the caller can count them as skipped readings.
 */
export const MIB = 1024 * 1024;

export const GPU_FIELDS = ["index", "uuid", "utilization.gpu", "memory.used", "memory.total"] as const;
export const COMPUTE_APP_FIELDS = ["pid", "used_gpu_memory", "gpu_uuid"] as const;
export const GPU_QUERY_ARGS = [`--query-gpu=${GPU_FIELDS.join(",")}`, "--format=csv,noheader,nounits"];
export const COMPUTE_APPS_QUERY_ARGS = [`--query-compute-apps=${COMPUTE_APP_FIELDS.join(",")}`, "--format=csv,noheader,nounits"];

export interface CsvRows {
  rows: Record<string, string>[];
  /** Lines that could not be read, with why. */
  problems: string[];
}

/** Header cell → field name: `memory.used [MiB]` → `memory.used`. */
function headerField(cell: string): string {
  return cell.replace(/\s*\[[^\]]*\]$/, "");
}

/** Rows of `fields`, in that order. A header line (format `csv` without `noheader`) is recognised and skipped. */
export function parseCsvRows(text: string, fields: readonly string[]): CsvRows {
  const rows: Record<string, string>[] = [];
  const problems: string[] = [];
  for (const [n, line] of text.split("\n").entries()) {
    const trimmed = line.trim();
    if (trimmed === "") continue;
    const cells = trimmed.split(",").map((c) => c.trim());
    if (n === 0 && cells.length === fields.length && cells.every((c, i) => headerField(c) === fields[i])) continue;
    if (cells.length !== fields.length) {
      problems.push(`line ${n + 1}: ${cells.length} values for ${fields.length} fields: ${JSON.stringify(trimmed.slice(0, 200))}`);
      continue;
    }
    const row: Record<string, string> = {};
    fields.forEach((field, i) => (row[field] = cells[i]!));
    rows.push(row);
  }
  return { rows, problems };
}

/** "20076", "20076 MiB", "100 %", "426.00 W" → the number; "[N/A]", "[Not Supported]" and anything else → null. */
export function numericCell(cell: string | undefined): number | null {
  const m = /^(\d+(?:\.\d+)?)(?: [A-Za-z%]+)?$/.exec(cell ?? "");
  return m ? Number(m[1]) : null;
}

export interface GpuDevice {
  index: number;
  uuid: string;
  /** utilization.gpu: percent of the last sample period in which a kernel ran on the device. */
  utilizationPercent: number | null;
  memoryUsedBytes: number | null;
  memoryTotalBytes: number | null;
}

export interface GpuProcess {
  pid: number;
  gpuUuid: string;
  usedMemoryBytes: number | null;
}

const DEVICE_UUID = /^(GPU|MIG)-/;
const mibToBytes = (mib: number | null) => (mib === null ? null : mib * MIB);

export function parseGpus(text: string): { devices: GpuDevice[]; problems: string[] } {
  const { rows, problems } = parseCsvRows(text, GPU_FIELDS);
  const devices: GpuDevice[] = [];
  for (const row of rows) {
    const index = numericCell(row.index);
    const uuid = row.uuid ?? "";
    if (index === null || !DEVICE_UUID.test(uuid)) {
      problems.push(`GPU row without index or uuid: ${JSON.stringify(row)}`);
      continue;
    }
    devices.push({
      index,
      uuid,
      utilizationPercent: numericCell(row["utilization.gpu"]),
      memoryUsedBytes: mibToBytes(numericCell(row["memory.used"])),
      memoryTotalBytes: mibToBytes(numericCell(row["memory.total"])),
    });
  }
  return { devices, problems };
}

export function parseComputeApps(text: string): { processes: GpuProcess[]; problems: string[] } {
  // Older drivers print this instead of nothing when no process holds a context.
  const { rows, problems } = parseCsvRows(text.replace(/^No running (compute )?processes found.*$/gim, ""), COMPUTE_APP_FIELDS);
  const processes: GpuProcess[] = [];
  for (const row of rows) {
    const pid = numericCell(row.pid);
    const gpuUuid = row.gpu_uuid ?? "";
    if (pid === null || !Number.isInteger(pid) || !DEVICE_UUID.test(gpuUuid)) {
      problems.push(`compute app row without pid or gpu_uuid: ${JSON.stringify(row)}`);
      continue;
    }
    processes.push({ pid, gpuUuid, usedMemoryBytes: mibToBytes(numericCell(row.used_gpu_memory)) });
  }
  return { processes, problems };
}
