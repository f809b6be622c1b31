/**
 * Who may call the reference server. It listens on 127.0.0.1 unless told
 * otherwise; on top of that:
 *
 * - a request from a browser page (an `Origin` header) whose origin is not
 *   in `allowOrigins` is refused with 403,
 *   WebSocket upgrades included: a page must not publish (`text/plain` POSTs
 *   need no preflight), drop clients or read streams through a visitor's
 *   browser. Requests without `Origin` (curl, rtbench, servers) pass.
 * - with a token (`auth`), the routes that change state (publish, members,
 *   admin) need `Authorization: Bearer <token>`, and so do WebSocket publish
 *   frames (on a socket whose upgrade carried the header); subscribing and
 *   reading stay open.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { HttpError } from "./http.js";

export interface AccessSettings {
  /** The token state-changing routes need; null: none (the default). */
  auth: string | null;
  /** Origins whose browser requests are let in (`https://app.example`); no other origin is. */
  allowOrigins: readonly string[];
}

/** A 403 for a browser request from a foreign origin; null when it may pass. */
export function originRefusal(
  headers: IncomingHttpHeaders,
  settings: AccessSettings,
): HttpError | null {
  const origin = headers.origin;
  if (origin === undefined || settings.allowOrigins.includes(origin)) return null;
  // Not even the server's own origin passes: it serves no pages, and a page
  // whose DNS name was rebound to this address would look like its own.
  return new HttpError(
    403,
    `requests from origin ${origin} are refused; a server started with server.allowOrigins (--allow-origin) lets listed origins in`,
  );
}

/** Whether `headers` carry `Authorization: Bearer <token>` (always true without a token). */
export function authorized(headers: IncomingHttpHeaders, settings: AccessSettings): boolean {
  if (settings.auth === null) return true;
  const given = Buffer.from(headers.authorization ?? "");
  const expected = Buffer.from(`Bearer ${settings.auth}`);
  // Compared in constant time: the time taken must not tell how much of a guess was right.
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Throws 401 unless the request carries the token. */
export function requireToken(headers: IncomingHttpHeaders, settings: AccessSettings): void {
  if (authorized(headers, settings)) return;
  throw new HttpError(
    401,
    "this route needs the server's token: send Authorization: Bearer <token> (server.auth)",
    { "www-authenticate": 'Bearer realm="rtbench"' },
  );
}
