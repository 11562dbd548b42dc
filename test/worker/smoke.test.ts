import { describe, expect, it } from "vitest";
import { call, createProject } from "./helpers";

describe("smoke", () => {
  it("answers healthz and creates a project", async () => {
    expect((await call("GET", "/healthz", { token: null })).status).toBe(200);
    const id = await createProject();
    const r = await call("GET", `/v1/projects/${id}/metrics-export`);
    expect(r.status).toBe(200);
    expect(r.body.status.state).toBe("unconfigured");
  });
});
