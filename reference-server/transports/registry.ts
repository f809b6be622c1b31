import type { BuiltinTransportName, ProtocolName } from "../../src/shared/transports.js";
import { mountLongPoll } from "./long-poll.js";
import { mountShortPoll } from "./short-poll.js";
import { mountSse } from "./sse.js";
import { mountSseH2 } from "./sse-h2.js";
import type { ServerTransportFactory } from "./types.js";
import { mountWebSocket } from "./websocket.js";

/**
 * The server half of every transport, by the name on its row in
 * src/shared/transports.ts. Keyed by the built-in names, so a row without a
 * server half does not compile.
 */
const BUILTIN: Record<BuiltinTransportName, ServerTransportFactory> = {
  "short-poll": mountShortPoll,
  "long-poll": mountLongPoll,
  sse: mountSse,
  "sse-h2": mountSseH2,
  websocket: mountWebSocket,
};

const factories = new Map<string, ServerTransportFactory>(Object.entries(BUILTIN));

/** The server half of a transport registered with `registerTransport` (an extension, a test). */
export function registerServerTransport(name: ProtocolName, factory: ServerTransportFactory): void {
  if (factories.has(name)) throw new RangeError(`a server transport ${name} is registered`);
  factories.set(name, factory);
}

export function unregisterServerTransport(name: ProtocolName): void {
  if (!(name in BUILTIN)) factories.delete(name);
}

export function serverTransportFactory(name: ProtocolName): ServerTransportFactory | undefined {
  return factories.get(name);
}
