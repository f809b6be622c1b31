import type { Publisher } from "../clients/publishers.js";
import type { ClientContext, ClientFactory } from "../clients/types.js";
import type { Problem } from "../shared/problem.js";

/** How the publisher sends: `publish.via`; which of them a protocol offers is its `publishVia`. */
export const PUBLISH_VIA = ["http", "websocket"] as const;
export type PublishVia = (typeof PUBLISH_VIA)[number];

/**
 * A target protocol maps rtbench's transports onto a server's routes and
 * envelopes: for each transport whether the server offers it, how to
 * subscribe and resume, how to publish, and where the published body sits in
 * what arrives. One descriptor per protocol (reference, nchan, socketio,
 * pushpin, custom), one row each in registry.ts; the runner asks descriptors, never
 * names.
 *
 * The wire fields below are plain data: they are validated in the parent,
 * resolved against the protocol's defaults, and sent as they are to the
 * shard processes, which build their clients from them.
 */

/** `publish:` an HTTP request per message. */
export interface PublishTemplate {
  method: string;
  /** URL path and query under the base URL; `{channel}` is URL-encoded. */
  path: string;
  /** Request body; `{body}` is the JSON text of rtbench's stamped body. */
  body: string;
  headers: Record<string, string>;
}

/** `websocket:` one connection per subscriber. */
export interface WebSocketTemplate {
  /** URL path and query; `{channel}` and `{user}` are URL-encoded. */
  path: string;
  /** Appended to `path` when resuming after a cursor (`{cursor}`, URL-encoded). */
  resume?: string;
  /** A text frame sent once open, for servers that subscribe by message. */
  subscribe?: string;
  /** A subprotocol to ask for in the handshake. */
  subprotocol?: string;
}

/** `sse:`, `longPoll:`, `shortPoll:` a path (polls may hold `{cursor}`). */
export interface PathTemplate {
  path: string;
}

/** `sse:` a path, and the event name(s) that carry messages (default: unnamed, "message"). */
export interface EventStreamTemplate extends PathTemplate {
  event?: string | string[];
}

/** `message:` JSON Pointers into a WebSocket frame, an SSE `data:` or a poll item. */
export interface MessageTemplate {
  /** Where the published body is; "" is the whole document. */
  body: string;
  /** Where the message's cursor is; SSE falls back to the event's `id:` line. */
  id?: string;
}

/** `poll:` JSON Pointers into a poll answer. */
export interface PollAnswerTemplate {
  /** The list of items, each read with `message`. */
  list: string;
  /** The cursor to send next; else the last item's id. */
  cursor?: string;
}

/** `socketio:` how a Socket.IO server's app speaks on its events. */
export interface SocketIoTemplate {
  /** The engine.io path on the server. */
  path: string;
  /** Handshake query fields that subscribe (`{channel}`, `{user}`). */
  query: Record<string, string>;
  /** The event that carries messages; its first argument is read with `message.body`. */
  event: string;
  /** The event a publish is emitted as. */
  publishEvent: string;
  /** Its argument, as JSON text with `{channel}` and `{body}` filled in. */
  publishPayload: string;
  /** Emit with an acknowledgement callback (the server answers each publish). */
  ack: boolean;
}

/** `pushpin:` where Pushpin's publish API is. */
export interface PushpinTemplate {
  /**
   * The base URL of Pushpin's publish API (its control port, `/publish/`
   * under it); absent: the target's own URL, where an origin in front
   * (examples/targets/pushpin/origin.js) takes publishes and passes them on.
   */
  control?: string;
}

/** A target's wire fields, as the scenario gives them and as a protocol resolves them. */
export interface TargetWire {
  publish?: PublishTemplate;
  websocket?: WebSocketTemplate;
  sse?: EventStreamTemplate;
  longPoll?: PathTemplate;
  shortPoll?: PathTemplate;
  message?: MessageTemplate;
  poll?: PollAnswerTemplate;
  socketio?: SocketIoTemplate;
  pushpin?: PushpinTemplate;
}

export type WireField = keyof TargetWire;

/** What a shard needs to build its clients for a target: plain data over IPC. */
export interface TargetSpec {
  protocol: string;
  /** Resolved: the protocol's defaults with the scenario's fields over them. */
  wire: TargetWire;
}

/** Faults that need the server's cooperation beyond its process. */
export type CooperativeFault = "drop" | "stall-clients";

export interface PublisherOptions {
  /** Connections the pool may open (`publish.maxInFlight`: every publish may be in flight at once). */
  connections: number;
  /** Where publisher bytes and requests are counted, apart from the subscribers'. */
  context: ClientContext;
  /** `publish.via`, one of the protocol's `publishVia`. */
  via: PublishVia;
  /** The reference server's token (`server.auth`), sent as Authorization: Bearer; null: none. */
  auth?: string | null;
}

export interface TargetProtocol {
  /** Its name in `target.protocol`. */
  readonly name: string;
  readonly description: string;
  /** The wire fields of `target` it reads; any other is a validation error. */
  readonly fields: readonly WireField[];
  /** Problems with the fields it reads, as given (templates, pointers, what is missing). */
  problems(given: TargetWire): Problem[];
  /** The wire with its defaults filled in under the given fields. */
  resolve(given: TargetWire): TargetWire;
  /** The transports the server offers over this wire, in table order. */
  offered(wire: TargetWire): string[];
  /** The server acknowledges each publish; else a publish counts as sent once written. */
  acknowledges(wire: TargetWire): boolean;
  /** The `publish.via` values it takes; any other is a validation error. */
  readonly publishVia: readonly PublishVia[];
  /** Why it cannot do a cooperative fault; absent when it can. */
  readonly cannot: Partial<Record<CooperativeFault, string>>;
  /**
   * Why its clients cannot sit behind a shaped network (`clients.network`),
   * when they open their sockets through a library of their own; absent when
   * they use rtbench's transports' clients.
   */
  readonly networkRefusal?: string;
  /**
   * A route that answers 200 once a server can serve (the reference
   * protocol's `/healthz`): a run waits for it on a server it did not start.
   * Absent when the protocol has none; the first connections then tell.
   */
  readonly healthPath?: string;
  /**
   * Placeholders it adds to `target.command` and `target.files`, by name,
   * worked out when the servers start (nchan: the module to load).
   */
  readonly commandPlaceholders?: Readonly<Record<string, () => string>>;
  /** The client of one offered transport, built once per shard from the resolved wire. */
  client(transport: string, wire: TargetWire): ClientFactory;
  /** One publisher for the instance at `url`. */
  publisher(wire: TargetWire, url: string, options: PublisherOptions): Publisher;
}
