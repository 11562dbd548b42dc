/** Cgroup-path rules and the orchestrator's mapping file (pure parts). */
import { describe, expect, it } from "vitest";
import { parseMappingFile } from "../../src/mapping/mapping-file";
import { compileRule, expandReadinessFile, matchRules, type MappingRule } from "../../src/mapping/rules";

const compiled = (pattern: string, readiness?: string): MappingRule => {
  const r = compileRule(pattern, readiness);
  if (typeof r === "string") throw new Error(r);
  return r;
};

describe("compileRule", () => {
  it.each([
    ["(?<project_id>p-[a-z0-9]+)", "needs the named group (?<app_name>…)."],
    ["^/apps/(?<app>[^/]+)$", "needs the named groups (?<project_id>…) and (?<app_name>…)."],
    ["^/apps/(?<project_id>[^/]+)/(?<app_name>[^/]+", expect.stringMatching(/^not a valid regular expression/)],
  ])("%s → %s", (pattern, problem) => {
    expect(compileRule(pattern)).toEqual(problem);
  });
});

describe("matchRules", () => {
  const rules = [
    compiled("^/kubepods\\.slice/.*/cri-containerd-(?<container>[0-9a-f]+)\\.scope$(?<project_id>)(?<app_name>)"),
    compiled("^/apps/(?<project_id>p-[a-z0-9]+)/(?<app_name>[a-z0-9-]+)/(?<container>[^/]+)$", "/run/ready/{project_id}/{app_name}/{container}"),
    compiled("^/jobs/(?<project_id>p-[a-z0-9]+)--(?<app_name>[a-z0-9-]+)/[^/]+$"),
  ];

  it("the first matching rule gives project, app, container and its readiness file", () => {
    const m = matchRules(rules, "/apps/p-abc12345/my-model/ctr-1");
    expect(m).toEqual({ projectId: "p-abc12345", appName: "my-model", container: "ctr-1", readinessFile: "/run/ready/{project_id}/{app_name}/{container}" });
    expect(expandReadinessFile(m!.readinessFile!, m!)).toBe("/run/ready/p-abc12345/my-model/ctr-1");
  });

  it("without a container group the container is the last path segment", () => {
    expect(matchRules(rules, "/jobs/p-abcd--trainer/run-7")).toEqual({ projectId: "p-abcd", appName: "trainer", container: "run-7" });
  });

  it("the app's own cgroup, a nested cgroup and other paths match nothing", () => {
    expect(matchRules(rules, "/apps/p-abc12345/my-model")).toBeUndefined();
    expect(matchRules(rules, "/apps/p-abc12345/my-model/ctr-1/init.scope")).toBeUndefined();
    expect(matchRules(rules, "/system.slice/sshd.service")).toBeUndefined();
  });
});

describe("parseMappingFile", () => {
  it("reads entries keyed by cgroup path, skipping bad ones with a reason", () => {
    const parsed = parseMappingFile(
      JSON.stringify({
        "/apps/c1/": { project_id: "p-abcd", app_name: "m", ready: true },
        "/apps/c2": { project_id: "p-abcd", app_name: "m" },
        "apps/c3": { project_id: "p-abcd", app_name: "m" },
        "/apps/c4": { project_id: "p-abcd", app_name: "m", ready: "yes" },
        "/apps/c5": { project_id: "p-abcd", app_name: "m", pod: "x" },
        "/apps/c6": ["p-abcd", "m"],
      }),
    );
    expect(parsed).toEqual({
      ok: true,
      entries: new Map([
        ["/apps/c1", { projectId: "p-abcd", appName: "m", ready: true }],
        ["/apps/c2", { projectId: "p-abcd", appName: "m" }],
      ]),
      problems: [
        '"apps/c3": the key must be a cgroup path starting with "/"',
        '"/apps/c4": ready: must be true or false',
        '"/apps/c5": unknown field "pod"',
        '"/apps/c6": must be an object',
      ],
    });
  });

  it.each([
    ['{"cut', /^not JSON/],
    ["[]", /keyed by container cgroup path/],
  ])("%s is refused as a whole", (text, error) => {
    const parsed = parseMappingFile(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(error);
  });
});
