/**
 * What each transport is, as data: one row per transport. The generator
 * (`src/`) and the reference server (`reference-server/`) both read these
 * rows, and everything that used to list the transports by name is derived
 * from them: the protocol list and its order, the routes, the scenario
 * sections and their settings, the JSON schemas' enums, the report labels,
 * which connections get heartbeats and which clients a watchdog can watch.
 *
 * A transport's behaviour lives elsewhere, one file per side: its client in
 * `src/clients/` (registered in `src/clients/registry.ts`) and its server half
 * in `reference-server/transports/` (registered in
 * `reference-server/transports/registry.ts`). Both registries are keyed by the
 * names below, so the compiler names whichever half a new row is missing.
 *
 * The file is longer than most because it is that one table: the
 * descriptor's documented fields, the five built-in rows, and the registry
 * that reads them. The rows stay beside the type on purpose: whoever adds or
 * reads a row has each field's meaning a scroll away, and a split (the type
 * in a file of its own, re-exported here) would buy a shorter file at the
 * price of that.
 */

/** How a transport reaches the reference server. */
export interface TransportRoute {
  /** Path template; `{channel}` is the URL-encoded channel. */
  path: string;
  /** `path`: the channel is the last path segment; `query`: it is `?channel=`. */
  channelIn: "path" | "query";
  /**
   * http1: plain HTTP/1.1 requests; upgrade: an HTTP/1.1 Upgrade to a
   * WebSocket; h2c: cleartext HTTP/2 with prior knowledge, on the same port.
   */
  over: "http1" | "upgrade" | "h2c";
}

/**
 * One field of a transport's scenario section, e.g. `shortPoll.interval`. The
 * scenario schema's entry, the default and the normalised value all come
 * from here; the value reaches the transport's client untouched, under `field`.
 */
export type TransportSetting =
  | {
      kind: "duration";
      /** Normalised name, in milliseconds (`intervalMs`). */
      field: string;
      default: string;
      description: string;
    }
  | {
      kind: "integer";
      field: string;
      default: number;
      minimum: number;
      maximum: number;
      description: string;
    }
  | {
      kind: "choice";
      field: string;
      default: string;
      choices: readonly string[];
      description: string;
    };

/**
 * A transport's normalised settings, keyed by each setting's `field`
 * (`{intervalMs: 1000}`): durations in ms, integers, chosen words.
 */
export type TransportSettings = Readonly<Record<string, number | string>>;

/** The parts of a server's wire a client can read: its WebSocket frames, its event stream, its poll answers. */
export type WireKind = "websocket" | "event-stream" | "poll";

export interface TransportDescriptor {
  /** Protocol name in scenarios, results and metric names (`sse-h2`); no dots. */
  readonly name: string;
  /** The scenario section holding its settings and reconnect overrides (`sseH2`). */
  readonly section: string;
  /** Column heading in reports; at most 11 characters so five columns stay readable. */
  readonly label: string;
  readonly description: string;
  /**
   * poll: the client asks again for every answer, so HTTP requests per
   * delivery and the share of empty answers are its costs; stream: one
   * long-lived response or connection carries every message.
   */
  readonly delivery: "poll" | "stream";
  /**
   * Which part of a server's wire its client reads (src/clients/dialect.ts):
   * a target protocol that describes that part can offer this transport.
   * Absent: the client speaks the reference protocol only.
   */
  readonly wire?: WireKind;
  /** The server sends heartbeats on this transport's open connections. */
  readonly serverHeartbeats: boolean;
  /**
   * The client sees every byte the server sends, heartbeats included, so a
   * client-side watchdog can tell a dead connection from a quiet channel.
   * A client may still opt out at run time (one without `lastActivityMs`).
   */
  readonly watchable: boolean;
  readonly route: TransportRoute;
  /** Run when a scenario lists no protocols. */
  readonly runByDefault: boolean;
  /** Fields of its scenario section besides `reconnect`, keyed as written in the file. */
  readonly settings: Readonly<Record<string, TransportSetting>>;
  /**
   * HTTP requests one client sends per second with these settings when its
   * channel carries `messagesPerSec`: what sizing the generator goes by.
   * Without it, a poll transport is taken to send one request per message and
   * a stream none.
   */
  readonly requestsPerClientPerSec?: (
    settings: TransportSettings,
    messagesPerSec: number,
  ) => number;
  /**
   * Whether its client can sit behind a shaped network (`clients.network`)
   * with these settings: null when it can (its sockets come from
   * clients/tls.ts connectSocket), else why not. Absent: it cannot.
   */
  readonly networkRefusal?: (settings: TransportSettings) => string | null;
}

const BUILTIN = [
  {
    name: "short-poll",
    section: "shortPoll",
    label: "short poll",
    description: "Short polling: a GET at a fixed interval, answered at once.",
    delivery: "poll",
    wire: "poll",
    serverHeartbeats: false,
    watchable: false,
    route: { path: "/api/messages", channelIn: "query", over: "http1" },
    runByDefault: true,
    settings: {
      interval: {
        kind: "duration",
        field: "intervalMs",
        default: "1s",
        description:
          "Time between the starts of two polls; a slow answer delays the next poll, it never piles up.",
      },
    },
    requestsPerClientPerSec: (settings) => 1000 / Number(settings.intervalMs),
    networkRefusal: () => null,
  },
  {
    name: "long-poll",
    section: "longPoll",
    label: "long poll",
    description: "Long polling: the server holds each GET until a message exists or a timeout.",
    delivery: "poll",
    wire: "poll",
    serverHeartbeats: false,
    watchable: false,
    route: { path: "/api/messages/poll", channelIn: "query", over: "http1" },
    runByDefault: true,
    settings: {
      timeout: {
        kind: "duration",
        field: "timeoutMs",
        default: "30s",
        description: "How long the server holds a poll that has nothing to return.",
      },
    },
    // An answer per message at most, plus one per hold time on a quiet channel.
    requestsPerClientPerSec: (settings, messagesPerSec) =>
      messagesPerSec + 1000 / Number(settings.timeoutMs),
    networkRefusal: () => null,
  },
  {
    name: "sse",
    section: "sse",
    label: "SSE",
    description: "Server-Sent Events over HTTP/1.1: one text/event-stream response per client.",
    delivery: "stream",
    wire: "event-stream",
    serverHeartbeats: true,
    watchable: true,
    route: { path: "/api/stream/{channel}", channelIn: "path", over: "http1" },
    runByDefault: true,
    settings: {
      client: {
        kind: "choice",
        field: "client",
        default: "lean",
        choices: ["lean", "eventsource"],
        description:
          "lean: rtbench's own HTTP/1.1 reader on a TCP socket (3.7 KB of generator heap and 7.3 KB of RSS per connection, measured by bench/client-memory.js). eventsource: the eventsource package, a browser-like client (17.5 KB per connection; it does not see heartbeat comments, so the client watchdog does not apply to it).",
      },
    },
    networkRefusal: (settings) =>
      settings.client === "eventsource"
        ? "sse.client: eventsource opens its sockets through fetch, which rtbench cannot shape (use sse.client: lean)"
        : null,
  },
  {
    name: "sse-h2",
    section: "sseH2",
    label: "SSE HTTP/2",
    description:
      "Server-Sent Events over HTTP/2 (by ALPN over TLS for https://, h2c with prior knowledge for http://): many streams share one TCP connection, as a browser multiplexes them.",
    delivery: "stream",
    wire: "event-stream",
    serverHeartbeats: true,
    watchable: true,
    route: { path: "/api/stream/{channel}", channelIn: "path", over: "h2c" },
    runByDefault: false,
    settings: {
      streamsPerConnection: {
        kind: "integer",
        field: "streamsPerConnection",
        default: 100,
        minimum: 1,
        maximum: 1000,
        description:
          "SSE streams one HTTP/2 connection carries before a client opens the next connection (browsers and servers commonly allow 100 concurrent streams).",
      },
    },
    networkRefusal: () =>
      "sse-h2 carries many clients' streams on one shared connection, so no client has a network of its own",
  },
  {
    name: "websocket",
    section: "websocket",
    label: "WebSocket",
    description: "WebSocket: one upgraded connection per client, JSON text frames both ways.",
    delivery: "stream",
    wire: "websocket",
    serverHeartbeats: true,
    watchable: true,
    route: { path: "/ws/chat/{channel}", channelIn: "path", over: "upgrade" },
    runByDefault: true,
    settings: {
      deflate: {
        kind: "choice",
        field: "deflate",
        default: "off",
        choices: ["off", "on"],
        description:
          "on: clients offer permessage-deflate (RFC 7692) and the reference server accepts it, so frames are compressed both ways, with a zlib context per connection on each side; these clients use the ws package, where off uses rtbench's lean client.",
      },
      deflateThreshold: {
        kind: "integer",
        field: "deflateThreshold",
        default: 1024,
        minimum: 0,
        maximum: 1048576,
        description:
          "With deflate: on, frames shorter than this many bytes are sent uncompressed (the reference server's and the clients' threshold).",
      },
      deflateNoContextTakeover: {
        kind: "choice",
        field: "deflateNoContextTakeover",
        default: "none",
        choices: ["none", "server", "client", "both"],
        description:
          "With deflate: on, which side resets its compression context after every message (server_no_context_takeover, client_no_context_takeover): less memory kept per connection, worse compression.",
      },
    },
    networkRefusal: (settings) =>
      settings.deflate === "on"
        ? "websocket.deflate: on runs over the ws package, whose sockets rtbench does not shape (use deflate: off, the lean client)"
        : null,
  },
] as const satisfies readonly TransportDescriptor[];

/** The transports rtbench ships; each needs a client and a server half registered under its name. */
export type BuiltinTransportName = (typeof BUILTIN)[number]["name"];

/**
 * A transport's name. Built-in names are listed above; an extension (or a
 * test) adds more through `registerTransport`, so the general type is a string.
 */
export type ProtocolName = string;

const registry = new Map<string, TransportDescriptor>(BUILTIN.map((row) => [row.name, row]));

/** Every registered transport, in table order (built-ins first). */
export function transports(): readonly TransportDescriptor[] {
  return [...registry.values()];
}

export function transportNames(): string[] {
  return [...registry.keys()];
}

/** The transports a scenario without `protocols:` runs. */
export function defaultTransportNames(): string[] {
  return transports()
    .filter((t) => t.runByDefault)
    .map((t) => t.name);
}

export function findTransport(name: string): TransportDescriptor | undefined {
  return registry.get(name);
}

/** The descriptor of a transport that must exist (validated input); throws otherwise. */
export function transport(name: string): TransportDescriptor {
  const found = registry.get(name);
  if (found === undefined) {
    throw new RangeError(
      `unknown transport ${JSON.stringify(name)}: expected one of ${transportNames().join(", ")}`,
    );
  }
  return found;
}

export function isTransportName(name: string): boolean {
  return registry.has(name);
}

/**
 * Adds a transport at run time (an extension, or a test's toy transport).
 * Its client and server halves register with their own registries. Names and
 * sections must be new: a row never silently replaces another.
 */
export function registerTransport(descriptor: TransportDescriptor): void {
  if (descriptor.name.includes(".") || descriptor.name === "*") {
    throw new RangeError(`transport name ${JSON.stringify(descriptor.name)}: no dots, not "*"`);
  }
  for (const row of registry.values()) {
    if (row.name === descriptor.name || row.section === descriptor.section) {
      throw new RangeError(
        `transport ${JSON.stringify(descriptor.name)} (section ${descriptor.section}) is already registered`,
      );
    }
  }
  registry.set(descriptor.name, descriptor);
}

/** Removes a transport added by `registerTransport` (tests clean up with it); built-ins stay. */
export function unregisterTransport(name: string): void {
  if (BUILTIN.some((row) => row.name === name)) return;
  registry.delete(name);
}

/** `names` in table order: registered transports in their row order, unknown names after. */
export function inTableOrder(names: Iterable<string>): string[] {
  const order = transportNames();
  const rank = (name: string) => {
    const index = order.indexOf(name);
    return index < 0 ? order.length : index;
  };
  return [...new Set(names)].sort((a, b) => rank(a) - rank(b));
}

/** The report heading of a transport; a name no row describes is shown as it is. */
export function transportLabel(name: string): string {
  return registry.get(name)?.label ?? name;
}
