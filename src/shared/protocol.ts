/**
 * The reference wire protocol: the message model, the shapes on the wire
 * and the routes that belong to no transport.
 *
 * The generator (`src/`) and the reference server (`reference-server/`)
 * meet here and at the other contracts in `src/shared/` (the transport and
 * broker rows, the server launch spec), and nowhere else.
 */

/** Channels allowed by the reference server. */
export const CHANNEL_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** One stored message. `id` is gap-free and strictly increasing per channel. */
export interface Message {
  id: number;
  channel: string;
  /** Server receive time, epoch milliseconds with a sub-millisecond fraction. */
  ts: number;
  body: unknown;
}

/**
 * The clock of every `ts` on the wire: epoch milliseconds with a
 * sub-millisecond fraction. The server stamps with it, and a client on the
 * same host subtracts a stamp from it.
 */
export function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Messages between two cursors that the server no longer holds: ids `from`..`to`
 * inclusive were published but have aged or been pushed out of history.
 */
export interface Gap {
  from: number;
  to: number;
  /**
   * The client's cursor is beyond anything this history assigned: it came
   * from another history (another instance's, under sticky routing after a
   * failover, or a memory broker's before a restart). What follows restarts
   * from the oldest message this history holds, and `from`..`to` is the part
   * of this history that is gone (1..0: none).
   */
  reset?: true;
}

/** Short- and long-poll answer. `cursor` is what to send as `since` next time. */
export interface PollResponse {
  messages: Message[];
  cursor: number;
  /** Present when the requested cursor is older than the retained history. */
  gap?: Gap;
}

/** Header carrying the gap on poll answers too (`from-to`), for clients that skip the body. */
export const GAP_HEADER = "x-rtbench-gap";
/**
 * Optional publish header: a publish repeating a key the server saw on the
 * channel within its window (2 min) is not stored again; the answer is the
 * message stored the first time (201, same id).
 */
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";
/** Longest idempotency key accepted (rtbench's are a run token, a channel and a number). */
export const MAX_IDEMPOTENCY_KEY_CHARS = 200;

/** One join or leave on a channel, as presence events carry it. */
export interface PresenceEvent {
  user: string;
  event: "join" | "leave";
  /** When the server saw it, epoch ms. */
  ts: number;
}

/** Frames the server sends on a WebSocket. */
export type ServerFrame =
  | ({ type: "message" } & Message)
  | { type: "ping" }
  | { type: "pong" }
  | ({ type: "gap" } & Gap)
  | { type: "error"; error: string }
  | { type: "ack"; ref: string | number | null; id: number }
  /** Tiered fan-out, to a returning member before anything else: messages it missed, up to `lastId`. */
  | { type: "unread"; count: number; lastId: number }
  /** Read fan-out: the channel has messages up to `lastId`; fetch what you have not read. */
  | { type: "notify"; lastId: number }
  /** The answer to a `fetch`, shaped as a poll answer. */
  | ({ type: "batch" } & PollResponse)
  /** Joins and leaves on the channel (server.presenceEvents), batched per interval. */
  | { type: "presence"; events: PresenceEvent[] };

/** Frames a client may send on a WebSocket. */
export type ClientFrame =
  /** `key`: as the HTTP `Idempotency-Key` header, a repeated key is stored once. */
  | { type: "publish"; ref?: string | number; body: unknown; key?: string }
  | { type: "ping" }
  | { type: "pong" }
  /** Read fan-out: messages after `since`, answered with one `batch` frame. */
  | { type: "fetch"; since: number };

/** SSE event names used by the reference server (`event:` lines). */
export const SSE_EVENT_MESSAGE = "message";
export const SSE_EVENT_GAP = "gap";
/** Join/leave events (server.presenceEvents): `data:` is the presence frame's JSON. */
export const SSE_EVENT_PRESENCE = "presence";

/**
 * Reference server routes that belong to no transport, as templates;
 * `{channel}` is replaced, the query is appended. Each transport's own route
 * is on its row in transports.ts. A WebSocket publisher uses the WebSocket
 * transport's route.
 */
export const ROUTES = {
  publish: "/api/messages",
  presence: "/api/presence/{channel}",
  /** PUT `{"users": [...]}` adds channel members (tiered fan-out keeps their unread counts). */
  members: "/api/members/{channel}",
  /** GET `?user=U`: a member's unread count. */
  unread: "/api/unread/{channel}",
  health: "/healthz",
  metrics: "/metrics",
} as const;
