/** The typed Hono context shared by every route. */
import type { ProjectExporter } from "../durable-objects/project-exporter";
import type { RawEnv, Settings } from "./settings";

export type Bindings = Omit<Env, "PROJECTS" | keyof RawEnv> &
  RawEnv & {
    PROJECTS: DurableObjectNamespace<ProjectExporter>;
  };

/** Who is calling, established by the auth middleware from `Authorization: Bearer <token>`. */
export type Principal =
  | { kind: "admin" }
  | { kind: "project"; keyId: string; keyName: string; projectId: string }
  | { kind: "ingest"; keyId: string; hostId: string };

export type Variables = {
  settings: Settings;
  principal: Principal | null;
};

export type AppEnv = { Bindings: Bindings; Variables: Variables };
