/**
 * One export of a project as the object holds it: its header values, delta journal and pusher, and
 * its Send-now budget. Each export has its own queue (one push at a time per export, never waiting
 * for another export's push), status, pause state, totals and delta baselines.
 */
import type { HeaderCipher } from "../src/crypto/header-crypto";
import type { ExportStatus } from "../src/export/status";
import type { Settings } from "../src/settings";
import type { AggregateStore } from "./aggregate-store";
import type { Aggregation } from "./aggregation";
import { Credentials } from "./credentials";
import { DeltaJournal } from "./delta-journal";
import type { EndingSeries } from "./ending-series";
import { FIRST_EXPORT_ID } from "./legacy-v3";
import { Pusher } from "./pusher";
import type { RowMeter, WriteCategory } from "./row-meter";
import type { ProjectStore } from "./store";

export interface SlotDeps {
  store: ProjectStore;
  rows: AggregateStore;
  aggregation: Aggregation;
  meter: RowMeter;
  ending: EndingSeries;
  cipher: () => Promise<HeaderCipher>;
  bounds: () => readonly number[];
  settings: () => Settings;
  write: <T>(category: WriteCategory, writes: () => T) => T;
  ended: (keys: string[]) => void;
  storing: (exportId: string, exportName: string, before: ExportStatus, after: ExportStatus) => void;
  recorded: (exportId: string, before: ExportStatus, after: ExportStatus) => Promise<void>;
}

export class ExportSlot {
  readonly credentials: Credentials;
  readonly journal: DeltaJournal;
  readonly pusher: Pusher;
  flushTimes: number[] = [];

  constructor(
    readonly id: string,
    deps: SlotDeps,
  ) {
    const { rows } = deps;
    this.credentials = new Credentials(deps.store, deps.cipher, id);
    this.journal = new DeltaJournal({
      insert: (seq, entries) => rows.insertRecord(id, seq, entries),
      markDelivered: (seq) => rows.markDelivered(id, seq),
      remove: (seq) => rows.removeRecord(id, seq),
    });
    this.pusher = new Pusher({
      exportId: id,
      store: deps.store,
      aggregation: deps.aggregation,
      journal: this.journal,
      credentials: this.credentials,
      meter: deps.meter,
      ending: deps.ending,
      bounds: deps.bounds,
      settings: deps.settings,
      write: deps.write,
      ended: deps.ended,
      storing: (config, before, after) => deps.storing(id, config.name, before, after),
      recorded: (before, after) => deps.recorded(id, before, after),
    });
  }

  /** The key of this export's schedule offset (the first export keeps the project's own). */
  scheduleKey(projectId: string): string {
    return this.id === FIRST_EXPORT_ID ? projectId : `${projectId}/${this.id}`;
  }
}

/** A new export's id: `e-` and 10 random base-32 characters. */
export function newExportId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  return `e-${Array.from(crypto.getRandomValues(new Uint8Array(10)), (b) => alphabet[b & 31]).join("")}`;
}
