import {
  type BuiltinTransportName,
  type ProtocolName,
  transportNames,
} from "../shared/transports.js";
import { createLongPollClient } from "./long-poll.js";
import { createShortPollClient } from "./short-poll.js";
import { createSseClient } from "./sse.js";
import { createEventSourceSseClient } from "./sse-eventsource.js";
import { createSseH2Client } from "./sse-h2.js";
import type { ClientFactory, ClientOptions, TransportClient } from "./types.js";
import { createWebSocketClient } from "./websocket.js";

/**
 * The client half of every transport, by the name on its row in
 * src/shared/transports.ts. Keyed by the built-in names, so a row without a
 * client does not compile.
 */
const BUILTIN: Record<BuiltinTransportName, ClientFactory> = {
  "short-poll": createShortPollClient,
  "long-poll": createLongPollClient,
  sse: (options) =>
    options.settings.client === "eventsource"
      ? createEventSourceSseClient(options)
      : createSseClient(options),
  "sse-h2": createSseH2Client,
  websocket: createWebSocketClient,
};

const factories = new Map<string, ClientFactory>(Object.entries(BUILTIN));

/** The client of a transport registered with `registerTransport` (an extension, a test). */
export function registerClient(protocol: ProtocolName, factory: ClientFactory): void {
  if (factories.has(protocol)) throw new RangeError(`a client for ${protocol} is registered`);
  factories.set(protocol, factory);
}

export function unregisterClient(protocol: ProtocolName): void {
  if (!(protocol in BUILTIN)) factories.delete(protocol);
}

/** One connection lifecycle of `protocol`; reconnecting means creating another. */
export function createClient(protocol: ProtocolName, options: ClientOptions): TransportClient {
  const factory = factories.get(protocol);
  if (!factory) {
    throw new Error(
      `no client for protocol ${JSON.stringify(protocol)}: expected one of ${transportNames()
        .filter((name) => factories.has(name))
        .join(", ")}`,
    );
  }
  return factory(options);
}
