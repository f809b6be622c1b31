import type { ProtocolName } from "../shared/protocol.js";
import { createLongPollClient } from "./long-poll.js";
import { createShortPollClient } from "./short-poll.js";
import { createSseClient } from "./sse.js";
import { createEventSourceSseClient } from "./sse-eventsource.js";
import type { ClientFactory, ClientOptions, TransportClient } from "./types.js";
import { createWebSocketClient } from "./websocket.js";

const FACTORIES: Record<ProtocolName, ClientFactory> = {
  "short-poll": createShortPollClient,
  "long-poll": createLongPollClient,
  sse: (options) =>
    options.sseClient === "eventsource"
      ? createEventSourceSseClient(options)
      : createSseClient(options),
  websocket: createWebSocketClient,
};

/** One connection lifecycle of `protocol`; reconnecting means creating another. */
export function createClient(protocol: ProtocolName, options: ClientOptions): TransportClient {
  const factory = FACTORIES[protocol];
  if (!factory) {
    throw new Error(
      `unknown protocol ${JSON.stringify(protocol)}: expected one of ${Object.keys(FACTORIES).join(", ")}`,
    );
  }
  return factory(options);
}
