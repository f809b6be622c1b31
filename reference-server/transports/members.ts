import type { IncomingMessage, ServerResponse } from "node:http";
import { MemberCapError } from "../broker/types.js";
import type { ServerContext } from "../context.js";
import { HttpError, parseUser, readJsonBody, sendJson } from "../http.js";

/** Users one `PUT /api/members/C` may add; more take more requests. */
export const MAX_MEMBERS_PER_REQUEST = 10_000;
/** 10,000 users of up to 128 characters, quoted and separated. */
const MAX_MEMBERS_BODY_BYTES = 2 * 1024 * 1024;
/** `{"users": [...]}` is two levels deep; anything deeper is not a member list. */
const MAX_MEMBERS_BODY_DEPTH = 2;

/**
 * `PUT /api/members/C` `{"users": ["u1", ...]}`: adds channel members (a
 * member who is not connected is offline; tiered fan-out counts what it
 * misses). Answers `{"channel", "members": N}`, N the members it now has;
 * 409 when a cap of `settings.members` would be passed (nothing is added).
 * The route exists only with tiered fan-out.
 */
export async function handleAddMembers(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  channel: string,
): Promise<void> {
  const payload = await readJsonBody(req, MAX_MEMBERS_BODY_BYTES, MAX_MEMBERS_BODY_DEPTH);
  const users = (payload as { users?: unknown } | null)?.users;
  if (!Array.isArray(users)) {
    throw new HttpError(400, 'request body must be a JSON object {"users": ["u1", ...]}');
  }
  if (users.length > MAX_MEMBERS_PER_REQUEST) {
    throw new HttpError(
      400,
      `at most ${MAX_MEMBERS_PER_REQUEST} users per request, found ${users.length}; send the rest in more requests`,
    );
  }
  const valid = users.map((user, i) => {
    if (typeof user !== "string") throw new HttpError(400, `users[${i}] must be a string`);
    return parseUser(user) as string;
  });
  let members: number;
  try {
    members = await ctx.broker.addMembers(channel, valid, ctx.settings.members);
  } catch (error) {
    if (error instanceof MemberCapError) throw new HttpError(409, error.message);
    throw error;
  }
  sendJson(res, 200, { channel, members });
}

/** `GET /api/unread/C?user=U`: `{"channel", "user", "unread": N}`; 404 when U is not a member. */
export async function handleUnread(
  ctx: ServerContext,
  res: ServerResponse,
  channel: string,
  query: URLSearchParams,
): Promise<void> {
  const user = parseUser(query.get("user"));
  if (user === null) throw new HttpError(400, "user is required: ?user=U");
  const unread = await ctx.broker.unread(channel, user);
  if (unread === null) throw new HttpError(404, `${user} is not a member of ${channel}`);
  sendJson(res, 200, { channel, user, unread });
}
