/**
 * When a project pushes: every interval, at a stable per-project offset within it, so a fleet of
 * projects spreads over the minute instead of pushing in the same second.
 */

/** FNV-1a of the project id, as an offset in [0, intervalMs). */
export function pushOffsetMs(projectId: string, intervalMs: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < projectId.length; i++) {
    h ^= projectId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % intervalMs;
}

/** The first push slot strictly after `nowMs`. */
export function nextPushAt(projectId: string, intervalMs: number, nowMs: number): number {
  const offset = pushOffsetMs(projectId, intervalMs);
  const slot = Math.floor((nowMs - offset) / intervalMs) * intervalMs + offset;
  return slot > nowMs ? slot : slot + intervalMs;
}
