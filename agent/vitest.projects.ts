/**
 * The host agent's test projects, added to the root vitest.config.ts (`npm test` runs them with the rest):
 * - agent-unit: parsers, mapping, aggregation, spool and delivery logic, the collector against a fake
 *   cgroup tree with a fake nvidia-smi on PATH. Plain Node.
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
];
