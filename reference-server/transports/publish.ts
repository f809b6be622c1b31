import type { IncomingMessage, ServerResponse } from "node:http";
import { IDEMPOTENCY_KEY_HEADER } from "../../src/shared/protocol.js";
import type { ServerContext } from "../context.js";
import {
  HttpError,
  parseChannel,
  parseIdempotencyKey,
  parseUser,
  readJsonBody,
  sendJson,
} from "../http.js";

/**
 * `POST /api/messages` `{"channel", "body"}` -> 201 with the stored message.
 * An `Idempotency-Key` the channel saw within the broker's window answers
 * 201 with the message stored the first time, and stores nothing.
 */
export async function handlePublish(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
): Promise<void> {
  const user = parseUser(query.get("user"));
  const key = parseIdempotencyKey(req.headers[IDEMPOTENCY_KEY_HEADER], "Idempotency-Key");
  const payload = await readJsonBody(req, ctx.settings.maxBodyBytes, ctx.settings.maxBodyDepth);
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    throw new HttpError(
      400,
      `request body must be a JSON object {"channel": ..., "body": ...}, found ${describe(payload)}`,
    );
  }
  const fields = payload as Record<string, unknown>;
  if (typeof fields.channel !== "string") {
    throw new HttpError(400, `"channel" must be a string, found ${describe(fields.channel)}`);
  }
  const channel = parseChannel(fields.channel, "request body");
  if (!("body" in fields)) throw new HttpError(400, `"body" is required (any JSON value)`);

  const message = await ctx.broker.publish(channel, fields.body, key);
  ctx.metrics.messagesIn++;
  ctx.touchPresence(channel, user);
  sendJson(res, 201, message);
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}
