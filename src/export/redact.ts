/**
 * Making destination text safe to show and store. Some servers echo request headers back in error
 * bodies — as sent, lower-cased, percent- or HTML-entity-encoded, JSON-escaped, base64 or hex,
 * split over lines, or cut short ("invalid key Bearer abc…"). Every configured header value must
 * disappear from what we keep in all of those forms:
 *
 * 1. Masking: each "form" of a secret (the value, its long words, decoded Basic credentials and
 *    their password, their base64 at every byte alignment and hex) is replaced wherever a run of
 *    at least MIN_RUN_CHARS of it appears, ignoring case.
 * 2. Detection: the masked text is then normalised (escapes and encodings undone, whitespace and
 *    control characters removed, lower-cased) and searched for any such run again; if one is left,
 *    the whole excerpt is withheld rather than guessed at.
 */

import type { SendFailure } from "./send-outcome";

export const MAX_EXCERPT_CHARS = 512;
/** A run this long of a secret counts as the secret (shorter secrets must appear whole). */
export const MIN_RUN_CHARS = 8;
/** Values shorter than this cannot be told apart from ordinary text; they are not searched for. */
const MIN_SECRET_CHARS = 4;
const MASK = "[redacted]";
export const WITHHELD =
  "[response body withheld: it appears to contain a configured header value in an encoded form]";

const latin1 = (bytes: Uint8Array): string => Array.from(bytes, (b) => String.fromCharCode(b)).join("");
const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** Printable text of a base64 word (standard or URL-safe alphabet), or null. */
function decodeBase64Word(word: string): string | null {
  if (!/^[A-Za-z0-9+/_-]{8,}={0,2}$/.test(word)) return null;
  try {
    const text = atob(word.replace(/-/g, "+").replace(/_/g, "/"));
    return /^[\x20-\x7e]+$/.test(text) ? text : null;
  } catch {
    return null;
  }
}

/**
 * The base64 of `text` at each of the three byte alignments it can have inside a longer encoded
 * string, keeping only the characters that depend on `text` alone (standard and URL-safe).
 */
function base64Cores(text: string): string[] {
  const bytes = new TextEncoder().encode(text);
  const out: string[] = [];
  for (let pad = 0; pad < 3; pad++) {
    const padded = new Uint8Array(pad + bytes.length);
    padded.set(bytes, pad);
    const b64 = btoa(latin1(padded));
    const core = b64.slice(Math.ceil((pad * 8) / 6), Math.floor(((pad + bytes.length) * 8) / 6));
    out.push(core, core.replace(/\+/g, "-").replace(/\//g, "_"));
  }
  return out;
}

/** Everything a header value could be shown as, before normalisation (see the module comment). */
export function secretForms(value: string): string[] {
  const plain = new Set<string>([value]);
  for (const word of value.split(/[\s,;=]+/)) {
    if (word.length >= MIN_RUN_CHARS) plain.add(word);
    const decoded = decodeBase64Word(word);
    if (decoded !== null) {
      plain.add(decoded);
      const colon = decoded.indexOf(":");
      if (colon >= 0) plain.add(decoded.slice(colon + 1));
    }
  }
  const forms = new Set<string>();
  for (const p of plain) {
    if (p.length < MIN_SECRET_CHARS) continue;
    forms.add(p);
    if (p.length >= MIN_RUN_CHARS) {
      forms.add(hex(new TextEncoder().encode(p)));
      for (const core of base64Cores(p)) if (core.length >= MIN_RUN_CHARS) forms.add(core);
    }
  }
  return [...forms];
}

const NAMED_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

function decodeOnce(text: string): string {
  return text
    .replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(/\\([\\/"'])/g, "$1")
    .replace(/&#x([0-9a-fA-F]{1,6});?/g, (_, h: string) => String.fromCodePoint(Math.min(parseInt(h, 16), 0x10ffff)))
    .replace(/&#([0-9]{1,7});?/g, (_, d: string) => String.fromCodePoint(Math.min(parseInt(d, 10), 0x10ffff)))
    .replace(/&([a-z]+);/gi, (whole, name: string) => NAMED_ENTITIES[name.toLowerCase()] ?? whole)
    .replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(/\+/g, " ");
}

/** Encodings undone (up to three layers), whitespace and control characters removed, lower-cased. */
export function normalize(text: string): string {
  let t = text;
  for (let round = 0; round < 3; round++) {
    const next = decodeOnce(t);
    if (next === t) break;
    t = next;
  }
  // Includes the JSON-escape letters left after "\n" / "\t" were split off by decodeOnce's rules.
  return t
    .replace(/\\[nrtbf]/g, "")
    .replace(/[\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]/g, "")
    .toLowerCase();
}

/** Every run of MIN_RUN_CHARS (or the whole of a shorter form) that counts as a secret, lower-cased. */
function secretRuns(forms: readonly string[], transform: (s: string) => string): { runs: Set<string>; whole: Set<string> } {
  const runs = new Set<string>();
  const whole = new Set<string>();
  for (const form of forms) {
    const f = transform(form);
    if (f.length < MIN_SECRET_CHARS) continue;
    if (f.length < MIN_RUN_CHARS) {
      whole.add(f);
      continue;
    }
    for (let i = 0; i + MIN_RUN_CHARS <= f.length; i++) runs.add(f.slice(i, i + MIN_RUN_CHARS));
  }
  return { runs, whole };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Replaces, ignoring case, every stretch of `text` covered by a secret run (or a whole short form). */
function mask(text: string, forms: readonly string[]): string {
  const { runs, whole } = secretRuns(forms, (s) => s.toLowerCase());
  const lower = text.toLowerCase();
  const covered = new Uint8Array(text.length);
  for (let i = 0; i + MIN_RUN_CHARS <= lower.length; i++) {
    if (!runs.has(lower.slice(i, i + MIN_RUN_CHARS))) continue;
    // The spaces at either end of a run are not secret (" glc_eyJ" of "Bearer glc_eyJ…").
    let from = i;
    let to = i + MIN_RUN_CHARS;
    while (from < to && /\s/.test(text[from]!)) from += 1;
    while (to > from && /\s/.test(text[to - 1]!)) to -= 1;
    covered.fill(1, from, to);
  }
  for (const w of whole) {
    for (const m of lower.matchAll(new RegExp(escapeRegExp(w), "g"))) covered.fill(1, m.index, m.index + w.length);
  }
  let out = "";
  for (let i = 0; i < text.length; ) {
    if (covered[i] === 0) {
      out += text[i];
      i += 1;
      continue;
    }
    while (i < text.length && covered[i] === 1) i += 1;
    out += MASK;
  }
  return out;
}

/** True when a secret run survives in the normalised text. */
function stillContains(text: string, forms: readonly string[]): boolean {
  // A masked stretch becomes a character no header value contains, so its neighbours cannot join into a run.
  const normalized = normalize(text.split(MASK).join("\u2603"));
  const { runs, whole } = secretRuns(forms, normalize);
  for (let i = 0; i + MIN_RUN_CHARS <= normalized.length; i++) if (runs.has(normalized.slice(i, i + MIN_RUN_CHARS))) return true;
  for (const w of whole) if (normalized.includes(w)) return true;
  return false;
}

/**
 * A response body (or any destination text) safe to show: at most MAX_EXCERPT_CHARS, every
 * configured header value masked, or WITHHELD when an encoded form of one would remain.
 */
export function safeExcerpt(body: string, secrets: readonly string[]): string {
  const forms = secrets.flatMap(secretForms);
  let text = forms.length > 0 ? mask(body, forms) : body;
  text = text.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, " ").trim();
  if (forms.length > 0 && stillContains(text, forms)) return WITHHELD;
  return text.length > MAX_EXCERPT_CHARS ? text.slice(0, MAX_EXCERPT_CHARS - 1) + "…" : text;
}

/** A failed request with any destination text in it made safe to show and store. */
export function redactFailure(failure: SendFailure, secrets: readonly string[]): SendFailure {
  switch (failure.kind) {
    case "http":
      return { ...failure, bodyExcerpt: safeExcerpt(failure.bodyExcerpt, secrets) };
    case "network":
      return { ...failure, message: safeExcerpt(failure.message, secrets) };
    default:
      return failure;
  }
}
