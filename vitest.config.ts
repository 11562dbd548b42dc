import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { agentProjects } from "./agent/vitest.projects.js";

// Three suites, one command (`npm test`):
// - unit:   pure logic (aggregation, encoding, retry policy, validation) in plain Node, no runtime.
// - worker: the worker and the Durable Object inside workerd (@cloudflare/vitest-plugin), talking to a
//           real OTLP receiver started in globalSetup on 127.0.0.1.
// - e2e:    wrangler + a real VictoriaMetrics, both started by the suite (test/e2e/).
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    test: {
      projects: [
        {
          test: {
            name: "unit",
            include: ["test/unit/**/*.test.ts"],
            environment: "node",
          },
        },
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  ADMIN_TOKEN: "test-admin-token-0123456789abcdef",
                  // base64 of 32 fixed bytes: tests only.
                  HEADER_ENCRYPTION_KEY: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
                  // A rotation in progress for the whole suite: values sealed under this key still
                  // open and are re-sealed (test/worker/credentials.test.ts).
                  HEADER_ENCRYPTION_KEY_PREVIOUS: "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
                  ALLOW_PRIVATE_ENDPOINTS: "true",
                  // An hour: a scheduled push at the project's random slot would otherwise land inside
                  // some test now and then and add a request it does not expect. Tests drive pushes with
                  // flush or runDurableObjectAlarm; the e2e suite covers the real schedule.
                  EXPORT_INTERVAL_SECONDS: "3600",
                  EXPORT_RETRY_BASE_MS: "5",
                  EXPORT_REQUEST_TIMEOUT_MS: "400",
                  // Retry-After is honoured up to this (30 s in production), so tests do not sleep for real.
                  EXPORT_RETRY_AFTER_MAX_MS: "150",
                  // Tests flush one project many times a minute; the default of 6 is proven in test/e2e/hardening.test.ts.
                  EXPORT_FLUSHES_PER_MINUTE: "1000",
                  // Notification delivery retries 20 ms, 40 ms, 80 ms … apart (30 s × 2^n in production).
                  NOTIFICATION_RETRY_BASE_MS: "20",
                },
              },
            }),
          ],
          test: {
            name: "worker",
            include: ["test/worker/**/*.test.ts"],
            setupFiles: ["./test/worker/setup.ts"],
            globalSetup: ["./test/receiver/global-setup.ts"],
          },
        },
        {
          test: {
            name: "e2e",
            include: ["test/e2e/**/*.test.ts"],
            environment: "node",
            testTimeout: 120_000,
            hookTimeout: 180_000,
          },
        },
        // The host agent (agent/): agent-unit and agent-e2e.
        ...agentProjects,
      ],
    },
  };
});
