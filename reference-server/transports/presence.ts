import type { ServerResponse } from "node:http";
import type { ServerContext } from "../context.js";
import { parseUser, sendJson } from "../http.js";

/** `GET /api/presence/C` -> `{"channel": C, "users": [...]}`: users seen within their TTL. */
export async function handlePresence(
  ctx: ServerContext,
  res: ServerResponse,
  channel: string,
  query: URLSearchParams,
): Promise<void> {
  const user = parseUser(query.get("user"));
  // Await the caller's own mark so that it sees itself in the answer.
  if (user !== null) await ctx.broker.touchPresence(channel, user, ctx.settings.presenceTtlMs);
  const users = await ctx.broker.presence(channel);
  sendJson(res, 200, { channel, users });
}
