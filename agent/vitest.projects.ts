/**
 * The host agent's test projects, added to the root vitest.config.ts (`npm test` runs them with the rest):
 * - agent-unit: parsers, mapping, aggregation, spool and delivery logic, the collector against a fake
 *   cgroup tree with a fake nvidia-smi on PATH. Plain Node.
 * - agent-e2e:  the bundled agent as child processes against the real worker under wrangler (and
 *   VictoriaMetrics): the guide's queries, edge outages, kill -9 at each spool step, a full spool, a 400.
 */
import type { TestProjectInlineConfiguration } from "vitest/config";

export const agentProjects: TestProjectInlineConfiguration[] = [
  {
    test: {
      name: "agent-unit",
      include: ["agent/test/unit/**/*.test.ts"],
      environment: "node",
    },
  },
  {
    test: {
      name: "agent-e2e",
      include: ["agent/test/e2e/**/*.test.ts"],
      environment: "node",
      globalSetup: ["./agent/test/e2e/global-setup.ts"],
      testTimeout: 120_000,
      hookTimeout: 180_000,
    },
  },
];
