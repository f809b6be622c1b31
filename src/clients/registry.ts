import {
  type BuiltinTransportName,
  type ProtocolName,
  transportNames,
} from "../shared/transports.js";
import type { ClientWire } from "./dialect.js";
import { createLongPollClient } from "./long-poll.js";
import { createShortPollClient } from "./short-poll.js";
import { createSseClient } from "./sse.js";
import { createEventSourceSseClient } from "./sse-eventsource.js";
import { createSseH2Client } from "./sse-h2.js";
import type { ClientFactory, ClientOptions, TransportClient } from "./types.js";
import { createWebSocketClient } from "./websocket.js";

/** A client factory that reads a server's wire through the dialect given, the reference's by default. */
type WireClientFactory = (options: ClientOptions, wire?: ClientWire) => TransportClient;

/**
 * The client half of every transport, by the name on its row in
 * src/shared/transports.ts. Keyed by the built-in names, so a row without a
 * client does not compile. Each reads the part of the wire its row names.
 */
const BUILTIN: Record<BuiltinTransportName, WireClientFactory> = {
  "short-poll": (options, wire) => createShortPollClient(options, wire?.poll),
  "long-poll": (options, wire) => createLongPollClient(options, wire?.poll),
  sse: (options, wire) =>
    options.settings.client === "eventsource"
      ? createEventSourceSseClient(options, wire?.["event-stream"])
      : createSseClient(options, wire?.["event-stream"]),
  "sse-h2": (options, wire) => createSseH2Client(options, wire?.["event-stream"]),
  websocket: (options, wire) => createWebSocketClient(options, wire?.websocket),
};

const factories = new Map<string, WireClientFactory>(Object.entries(BUILTIN));

/** The client of a transport registered with `registerTransport` (an extension, a test). */
export function registerClient(protocol: ProtocolName, factory: ClientFactory): void {
  if (factories.has(protocol)) throw new RangeError(`a client for ${protocol} is registered`);
  factories.set(protocol, factory);
}

export function unregisterClient(protocol: ProtocolName): void {
  if (!(protocol in BUILTIN)) factories.delete(protocol);
}

/**
 * One connection lifecycle of `protocol`; reconnecting means creating
 * another. `wire`: a target's dialect for the part of the wire the
 * transport reads; the reference protocol when absent.
 */
export function createClient(
  protocol: ProtocolName,
  options: ClientOptions,
  wire?: ClientWire,
): TransportClient {
  const factory = factories.get(protocol);
  if (!factory) {
    throw new Error(
      `no client for protocol ${JSON.stringify(protocol)}: expected one of ${transportNames()
        .filter((name) => factories.has(name))
        .join(", ")}`,
    );
  }
  return factory(options, wire);
}
