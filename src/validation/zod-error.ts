import type { z } from "zod";
import { invalid, type ApiError } from "../errors";

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** The first issue of a failed parse as a 400 that names the field. */
export function zodToApiError(error: z.ZodError, what = "body"): ApiError {
  const issue = error.issues[0];
  if (!issue) return invalid(`The request ${what} is invalid.`);
  const field = formatPath(issue.path);
  if (issue.code === "unrecognized_keys") {
    const where = field === "" ? "" : ` in ${field}`;
    return invalid(`Unknown field${issue.keys.length > 1 ? "s" : ""}${where}: ${issue.keys.map((k) => `"${k}"`).join(", ")}.`);
  }
  // zod's own wording for a body that is not an object ("Invalid input: expected object, received
  // array") does not read as a sentence after "The request body".
  if (field === "" && issue.code === "invalid_type") return invalid(`The request ${what} must be a JSON object.`);
  return invalid(field === "" ? `The request ${what} ${issue.message}.` : `${field}: ${issue.message}.`);
}
