// @ts-check
/** The page scripts' DOM helpers. */

/**
 * The element with this id; a missing one is a bug in the page, so it throws.
 * @param {string} id
 */
export function $(id) {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`#${id} is missing`);
  return node;
}

/** @param {string} id */
export const input = (id) => /** @type {HTMLInputElement} */ ($(id));

/** @param {string} id */
export const button = (id) => /** @type {HTMLButtonElement} */ ($(id));

/** @param {HTMLElement} node @param {boolean} visible */
export function show(node, visible) {
  node.hidden = !visible;
}
