// @ts-check
/**
 * Grafana Cloud's Basic auth header, built in the browser from the Instance ID and the token: what
 * the guide's `echo -n "INSTANCE_ID:TOKEN" | base64` does. The token goes nowhere but the header.
 */

/**
 * @param {string} instanceId
 * @param {string} token
 * @returns {{ ok: true, value: string } | { ok: false, field: "instance" | "token", message: string }}
 */
export function grafanaBasicAuth(instanceId, token) {
  const id = instanceId.trim();
  const secret = token.trim();
  if (id === "") return { ok: false, field: "instance", message: "Enter the Instance ID shown on the OpenTelemetry configuration page." };
  if (!/^[0-9]{1,20}$/.test(id)) return { ok: false, field: "instance", message: "The Instance ID is a number (digits only), for example 123456." };
  if (secret === "") return { ok: false, field: "token", message: "Enter the API token (MetricsPublisher role)." };
  if (!/^[\x21-\x7e]+$/.test(secret)) return { ok: false, field: "token", message: "The token must be printable ASCII without spaces: copy it again." };
  return { ok: true, value: `Basic ${btoa(`${id}:${secret}`)}` };
}
