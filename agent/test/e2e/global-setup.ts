/** Builds the agent bundle once, so the end-to-end tests run the very file a host runs (the `bin`). */
import { buildAgent } from "../../scripts/build.mjs";

export default async function setup(): Promise<void> {
  await buildAgent();
}
