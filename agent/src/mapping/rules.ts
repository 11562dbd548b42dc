/**
 * Cgroup-path rules: which container cgroup belongs to which (project, app).
 *
 * A rule is a regular expression over a cgroup path as `/proc/<pid>/cgroup` shows it (relative to the
 * cgroup v2 mount, starting with "/"), with the named groups `project_id` and `app_name`, and
 * optionally `container` (its name in readiness-file paths; the last path segment otherwise). Rules are
 * tried in order; the first match wins. Patterns are used as written: anchor them (`^…$`), or a rule
 * meant for containers may match the app's parent cgroup first.
 */
export interface MappingRule {
  pattern: string;
  regex: RegExp;
  /** Template with {project_id}, {app_name}, {container}: the container is ready while this file exists. */
  readinessFile?: string;
}

export interface RuleMatch {
  projectId: string;
  appName: string;
  container: string;
  readinessFile?: string;
}

const REQUIRED_GROUPS = ["project_id", "app_name"] as const;

/** The compiled rule, or what is wrong with it. */
export function compileRule(pattern: string, readinessFile?: string): MappingRule | string {
  let regex: RegExp;
  try {
    regex = new RegExp(pattern);
  } catch (error) {
    return `not a valid regular expression (${error instanceof Error ? error.message : String(error)}).`;
  }
  // An alternative that matches the empty string makes exec() report every named group of the pattern.
  const groups = Object.keys(new RegExp(`${pattern}|`).exec("")?.groups ?? {});
  const missing = REQUIRED_GROUPS.filter((g) => !groups.includes(g));
  if (missing.length > 0) return `needs the named group${missing.length > 1 ? "s" : ""} ${missing.map((g) => `(?<${g}>…)`).join(" and ")}.`;
  return readinessFile === undefined ? { pattern, regex } : { pattern, regex, readinessFile };
}

export function lastSegment(cgroup: string): string {
  return cgroup.slice(cgroup.lastIndexOf("/") + 1);
}

export function matchRules(rules: readonly MappingRule[], cgroup: string): RuleMatch | undefined {
  for (const rule of rules) {
    const groups = rule.regex.exec(cgroup)?.groups;
    if (groups?.project_id === undefined || groups.app_name === undefined) continue;
    const match: RuleMatch = { projectId: groups.project_id, appName: groups.app_name, container: groups.container ?? lastSegment(cgroup) };
    if (rule.readinessFile !== undefined) match.readinessFile = rule.readinessFile;
    return match;
  }
  return undefined;
}

/** `template` with {project_id}, {app_name} and {container} filled in. */
export function expandReadinessFile(template: string, vars: { projectId: string; appName: string; container: string }): string {
  return template.replace(/\{(project_id|app_name|container)\}/g, (_, name: string) =>
    name === "project_id" ? vars.projectId : name === "app_name" ? vars.appName : vars.container,
  );
}
