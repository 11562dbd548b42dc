/**
 * vitest globalSetup for the worker suite: one OTLP receiver (./receiver.ts) for every test file;
 * files keep apart by namespace. Tests reach it with `inject("receiverPort")` (see ./client.ts).
 */
import type { TestProject } from "vitest/node";
// Brings in the ProvidedContext declaration (it lives in ./client.ts, which the type-check includes).
import type {} from "./client";
import { startReceiver } from "./receiver";

export default async function ({ provide }: TestProject): Promise<() => Promise<void>> {
  const receiver = await startReceiver();
  provide("receiverPort", receiver.port);
  return () => receiver.close();
}
