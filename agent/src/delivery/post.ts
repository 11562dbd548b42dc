/** One `POST /v1/samples` of a spooled (gzip-compressed) batch body, bounded in time. */
import { classifyError, classifyResponse, type PostOutcome } from "./outcome";

// The edge answers with a short JSON body; more than this is not read.
const MAX_RESPONSE_CHARS = 64 * 1024;

/** `signal` aborts the request early (shutdown); each attempt also ends after `timeoutMs`. */
export async function postBatch(edgeUrl: string, ingestKey: string, body: Uint8Array, timeoutMs: number, signal: AbortSignal): Promise<PostOutcome> {
  try {
    const response = await fetch(`${edgeUrl}/v1/samples`, {
      method: "POST",
      headers: { authorization: `Bearer ${ingestKey}`, "content-type": "application/json", "content-encoding": "gzip" },
      body,
      redirect: "manual",
      signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), signal]),
    });
    let text = "";
    try {
      text = (await response.text()).slice(0, MAX_RESPONSE_CHARS);
    } catch {
      // A body cut off after the status line: the status alone decides (2xx is durable at the edge).
    }
    return classifyResponse(response.status, response.headers.get("retry-after"), text, Date.now());
  } catch (error) {
    return classifyError(error);
  }
}
