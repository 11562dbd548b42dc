/**
 * Which cgroups are containers of which app, from the mapping file and the cgroup-path rules.
 *
 * The walk starts at `containersUnder` (relative to the cgroup v2 mount) and stops descending at a
 * container: in cgroup v2 a cgroup's cpu.stat and memory.current include its descendants, so a
 * container's nested cgroups are part of it and must not be counted again. A cgroup that is no
 * container but holds processes itself is an unmapped container: ignored, and counted.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { MappingEntry } from "../mapping/mapping-file";
import { expandReadinessFile, lastSegment, matchRules, type MappingRule } from "../mapping/rules";
import { hasProcesses } from "./cgroup-files";

// Far beyond any real container hierarchy; they bound a walk gone wrong (a bind mount loop, a huge tree).
const MAX_WALK_DEPTH = 16;
const MAX_WALK_DIRS = 20_000;

export interface Candidate {
  cgroup: string;
  projectId: string;
  appName: string;
  /** true/false from the mapping file, a readiness file to look for, or undefined: ready while running. */
  readiness: boolean | string | undefined;
}

export interface Discovery {
  candidates: Candidate[];
  unmapped: string[];
  /** The walk hit MAX_WALK_DIRS or a folder it could not list. */
  incomplete: string[];
}

export interface DiscoverOptions {
  cgroupRoot: string;
  containersUnder: string;
  rules: readonly MappingRule[];
  entries: ReadonlyMap<string, MappingEntry>;
  readinessFile?: string;
}

function fromMappingEntry(cgroup: string, e: MappingEntry, readinessFile: string | undefined): Candidate {
  const container = lastSegment(cgroup);
  const readiness = e.ready ?? (readinessFile === undefined ? undefined : expandReadinessFile(readinessFile, { ...e, container }));
  return { cgroup, projectId: e.projectId, appName: e.appName, readiness };
}

export async function discover(o: DiscoverOptions): Promise<Discovery> {
  const candidates: Candidate[] = [];
  for (const [cgroup, entry] of o.entries) candidates.push(fromMappingEntry(cgroup, entry, o.readinessFile));
  const unmapped: string[] = [];
  const incomplete: string[] = [];
  const onDisk = (cgroup: string) => path.join(o.cgroupRoot, cgroup);

  let level = [o.containersUnder];
  let visited = 0;
  for (let depth = 0; level.length > 0 && depth <= MAX_WALK_DEPTH; depth++) {
    const next: string[] = [];
    for (const cgroup of level) {
      if (++visited > MAX_WALK_DIRS) {
        incomplete.push(`more than ${MAX_WALK_DIRS} cgroups under ${o.containersUnder}`);
        return { candidates, unmapped, incomplete };
      }
      if (o.entries.has(cgroup)) continue;
      const match = matchRules(o.rules, cgroup);
      if (match !== undefined) {
        const template = match.readinessFile ?? o.readinessFile;
        candidates.push({ cgroup, projectId: match.projectId, appName: match.appName, readiness: template === undefined ? undefined : expandReadinessFile(template, match) });
        continue;
      }
      let children;
      try {
        children = await readdir(onDisk(cgroup), { withFileTypes: true });
      } catch (error) {
        // Gone since its parent was listed: a container that just stopped.
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") incomplete.push(`${cgroup}: ${(error as Error).message}`);
        continue;
      }
      if (cgroup !== "/" && (await readFile(path.join(onDisk(cgroup), "cgroup.procs"), "utf8").then(hasProcesses, () => false))) {
        unmapped.push(cgroup);
      }
      for (const child of children) {
        if (child.isDirectory()) next.push(cgroup === "/" ? `/${child.name}` : `${cgroup}/${child.name}`);
      }
    }
    level = next;
  }
  if (level.length > 0) incomplete.push(`cgroups deeper than ${MAX_WALK_DEPTH} levels under ${o.containersUnder} not visited`);
  return { candidates, unmapped: unmapped.sort(), incomplete };
}
