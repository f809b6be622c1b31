import { createHttpPublisher, createWebSocketPublisher } from "../clients/publishers.js";
import { createClient } from "../clients/registry.js";
import type { ClientFactory } from "../clients/types.js";
import { transportNames } from "../shared/transports.js";
import type { TargetProtocol } from "./types.js";

/**
 * rtbench's own wire protocol (src/shared/protocol.ts), spoken by the
 * bundled reference server and by any server written against it: every
 * registered transport, publishes acknowledged with the stored message, and
 * the faults that need the admin routes (`drop`, the zombie count after
 * `stall-clients`) when the server was started with them.
 */
export const reference: TargetProtocol = {
  name: "reference",
  description: "rtbench's reference protocol: the bundled server, or any server that speaks it.",
  fields: [],
  problems: () => [],
  resolve: () => ({}),
  offered: () => transportNames(),
  acknowledges: () => true,
  cannot: {},
  client(transport: string): ClientFactory {
    // The transports' own registry: a transport registered by an extension works too.
    return (options) => createClient(transport, options);
  },
  publisher(_wire, url, { connections, context, via }) {
    return via === "websocket"
      ? createWebSocketPublisher(url, { context })
      : createHttpPublisher(url, { connections, context });
  },
};
