// Test-only bindings (vitest.config.ts) on top of the worker's Env.
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    ADMIN_TOKEN: string;
    HEADER_ENCRYPTION_KEY: string;
  }
}
