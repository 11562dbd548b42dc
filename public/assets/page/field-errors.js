// @ts-check
/**
 * Where an API error belongs on the form. `invalid_request` messages start with the field's path
 * ("endpoint: …", "headers[1].value: …"); a few codes are about the headers as a whole.
 */

/**
 * @param {{ code: string, message: string }} error
 * @returns {{ field: "endpoint" | "name" | "headers" | "form", header: number | null, message: string }}
 */
export function fieldOf(error) {
  if (error.code === "header_values_required" || error.code === "header_required") {
    return { field: "headers", header: null, message: error.message };
  }
  if (error.code === "export_name_taken") return { field: "name", header: null, message: error.message };
  if (error.code !== "invalid_request") return { field: "form", header: null, message: error.message };
  const m = /^([a-z_]+)(?:\[(\d+)\])?(?:\.([a-z_]+))?: (.*)$/s.exec(error.message);
  if (m === null) return { field: "form", header: null, message: error.message };
  const [, root, index, leaf, rest] = m;
  const what = /** @type {string} */ (rest);
  if (root === "endpoint") return { field: "endpoint", header: null, message: `The endpoint ${what}` };
  if (root === "name") return { field: "name", header: null, message: `The name ${what}` };
  if (root === "headers") {
    const i = index === undefined ? null : Number(index);
    const part = leaf === "name" ? "name" : leaf === "value" ? "value" : "";
    const where = i === null ? "Headers" : `Header ${i + 1}${part ? ` ${part}` : ""}`;
    return { field: "headers", header: i, message: `${where}: ${what}` };
  }
  return { field: "form", header: null, message: error.message };
}
