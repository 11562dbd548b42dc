/**
 * The spool: one file per sealed batch, holding exactly the gzip-compressed body that is posted.
 *
 * A batch is written to a temporary name, fsynced, renamed into place and the folder fsynced, so a
 * batch file exists whole or not at all (a kill -9 mid-write leaves only a temporary file, removed at
 * the next start). It is deleted only after the edge answered 2xx or refused it for good. The name
 * carries everything needed at start-up without reading the file:
 * `<sealed_at_ms>-<seq>-<samples>-<runs>-<batch_id>.json.gz`, zero-padded so names sort oldest first.
 */
import { mkdir, open, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";

export interface SpoolEntry {
  file: string;
  batchId: string;
  /** Wall-clock time the batch was sealed (host clock), Unix ms. */
  sealedAtMs: number;
  seq: number;
  samples: number;
  /** How many of the samples are runs (the rest are resource readings). */
  runs: number;
  bytes: number;
}

type EntryName = Omit<SpoolEntry, "file" | "bytes">;

const TEMP_PREFIX = ".tmp-";
const NAME = /^(\d{13})-(\d{10})-(\d{4,})-(\d{4,})-([A-Za-z0-9-]{1,64})\.json\.gz$/;

export function spoolFileName(e: EntryName): string {
  const pad = (n: number, width: number) => String(n).padStart(width, "0");
  return `${pad(e.sealedAtMs, 13)}-${pad(e.seq, 10)}-${pad(e.samples, 4)}-${pad(e.runs, 4)}-${e.batchId}.json.gz`;
}

export function parseSpoolFileName(name: string): EntryName | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  return { sealedAtMs: Number(m[1]), seq: Number(m[2]), samples: Number(m[3]), runs: Number(m[4]), batchId: m[5]! };
}

const byAge = (a: SpoolEntry, b: SpoolEntry) => a.sealedAtMs - b.sealedAtMs || a.seq - b.seq;

/**
 * The oldest entries to delete so that `incomingBytes` more fit within `maxBytes`, never one that is
 * `busy` (being posted). undefined when even deleting every idle entry leaves no room.
 */
export function entriesToDrop(
  entries: readonly SpoolEntry[],
  totalBytes: number,
  incomingBytes: number,
  maxBytes: number,
  busy: (e: SpoolEntry) => boolean,
): SpoolEntry[] | undefined {
  const drop: SpoolEntry[] = [];
  let bytes = totalBytes;
  for (const e of entries) {
    if (bytes + incomingBytes <= maxBytes) break;
    if (busy(e)) continue;
    drop.push(e);
    bytes -= e.bytes;
  }
  return bytes + incomingBytes <= maxBytes ? drop : undefined;
}

async function fsyncPath(p: string, flags: string): Promise<void> {
  const handle = await open(p, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class Spool {
  readonly dir: string;
  #entries: SpoolEntry[];
  #bytes: number;
  #nextSeq: number;

  private constructor(dir: string, entries: SpoolEntry[]) {
    this.dir = dir;
    this.#entries = entries.sort(byAge);
    this.#bytes = entries.reduce((sum, e) => sum + e.bytes, 0);
    this.#nextSeq = entries.reduce((max, e) => Math.max(max, e.seq + 1), 0);
  }

  /** Opens (creating) the folder, removes temporary files a crash left and lists the batches in it. */
  static async open(dir: string): Promise<{ spool: Spool; tempFilesRemoved: number; foreignFiles: string[] }> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const entries: SpoolEntry[] = [];
    const foreignFiles: string[] = [];
    let tempFilesRemoved = 0;
    for (const file of await readdir(dir)) {
      if (file.startsWith(TEMP_PREFIX)) {
        await unlink(path.join(dir, file));
        tempFilesRemoved += 1;
        continue;
      }
      const name = parseSpoolFileName(file);
      if (name === undefined) {
        foreignFiles.push(file);
        continue;
      }
      entries.push({ ...name, file, bytes: (await stat(path.join(dir, file))).size });
    }
    return { spool: new Spool(dir, entries), tempFilesRemoved, foreignFiles };
  }

  /** Oldest first. */
  get entries(): readonly SpoolEntry[] {
    return this.#entries;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Durably stores one batch body; resolves once it is on disk under its final name. */
  async write(batch: { batchId: string; sealedAtMs: number; samples: number; runs: number }, body: Uint8Array): Promise<SpoolEntry> {
    const entry: SpoolEntry = { ...batch, seq: this.#nextSeq++, file: "", bytes: body.byteLength };
    entry.file = spoolFileName(entry);
    const temp = path.join(this.dir, `${TEMP_PREFIX}${entry.file}`);
    const handle = await open(temp, "wx", 0o600);
    try {
      await handle.writeFile(body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path.join(this.dir, entry.file));
    // The rename is durable only once the folder itself is synced.
    await fsyncPath(this.dir, "r");
    this.#entries.push(entry);
    // Entries are appended in sealing order; sort only if the clock went backwards.
    if (this.#entries.length > 1 && byAge(this.#entries[this.#entries.length - 2]!, entry) > 0) this.#entries.sort(byAge);
    this.#bytes += entry.bytes;
    return entry;
  }

  read(entry: SpoolEntry): Promise<Buffer> {
    return readFile(path.join(this.dir, entry.file));
  }

  /**
   * Deletes a batch. The folder is not fsynced: should the deletion not survive a power loss, the batch
   * is posted again and the edge answers `duplicate: true`.
   */
  async remove(entry: SpoolEntry): Promise<void> {
    const i = this.#entries.indexOf(entry);
    if (i === -1) return;
    this.#entries.splice(i, 1);
    this.#bytes -= entry.bytes;
    await unlink(path.join(this.dir, entry.file)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
    });
  }
}
