/** Request schemas of the notification webhook routes (POST, PATCH …/notifications), and the webhook URL rule. */
import { z } from "zod";
import { failure } from "../errors";
import { EVENT_TYPES, type NotificationEventType } from "../notifications/events";
import { checkEndpoint } from "./endpoint";

/**
 * Webhook URLs: the export endpoint rules (no user info, no private or special-purpose addresses
 * in production), and https only unless private endpoints are allowed (local development). Checked
 * when a URL is saved and again before every delivery (a deployment may have changed its settings).
 * Returns why the URL may not be used, or null.
 */
export function webhookUrlProblem(url: string, allowPrivate: boolean): string | null {
  const check = checkEndpoint(url, allowPrivate);
  if (!check.ok) return check.message;
  if (!allowPrivate && check.url.protocol !== "https:") return "must use https (webhook bodies and signatures must not travel in clear text)";
  return null;
}

/** The answer for a notification id the project does not have. */
export const notificationNotFound = (id: string) =>
  failure(404, "notification_not_found", `Notification "${id.slice(0, 80)}" does not exist in this project; GET …/notifications lists them.`);

const NO_CONTROL_CHARACTERS = /^[^\x00-\x1f\x7f]*$/;

const Name = z
  .string({ error: "must be a string" })
  .trim()
  .min(1, { error: "must not be empty" })
  .max(64, { error: "must be at most 64 characters" })
  .regex(NO_CONTROL_CHARACTERS, { error: "must not contain control characters" });

const Url = z.string({ error: "must be a string" }).max(2048, { error: "must be at most 2048 characters" });

const Format = z.enum(["slack", "json"], { error: 'must be "slack" or "json"' });

const Events = z
  .array(z.enum(EVENT_TYPES as [NotificationEventType, ...NotificationEventType[]], { error: `must be one of ${EVENT_TYPES.map((t) => `"${t}"`).join(", ")}` }), {
    error: "must be an array of event types",
  })
  .min(1, { error: "must list at least one event type" })
  .superRefine((events, ctx) => {
    const seen = new Set<string>();
    events.forEach((e, i) => {
      if (seen.has(e)) ctx.addIssue({ code: "custom", path: [i], message: `"${e}" is listed twice` });
      seen.add(e);
    });
  });

const QuietPeriod = z
  .number({ error: "must be a number of seconds" })
  .int({ error: "must be a whole number of seconds" })
  .min(0, { error: "must be 0 (no quiet period) or more" })
  .max(86_400, { error: "must be at most 86400 (a day)" });

export const NotificationCreate = z.strictObject({
  name: Name.optional(),
  url: Url,
  format: Format,
  events: Events.optional(),
  quiet_period_seconds: QuietPeriod.optional(),
});
export type NotificationCreate = z.infer<typeof NotificationCreate>;

export const NotificationPatch = z
  .strictObject({
    name: Name.optional(),
    url: Url.optional(),
    format: Format.optional(),
    events: Events.optional(),
    quiet_period_seconds: QuietPeriod.optional(),
    /** true: a new signing secret (answered once). */
    rotate_secret: z.literal(true, { error: "must be true (or absent)" }).optional(),
  })
  .refine((v) => Object.keys(v).length > 0, { error: "must change at least one field" });
export type NotificationPatch = z.infer<typeof NotificationPatch>;
