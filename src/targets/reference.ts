import { createHttpPublisher, type Publisher } from "../clients/publishers.js";
import { createClient } from "../clients/registry.js";
import type { ClientFactory } from "../clients/types.js";
import { createWebSocketPublisher } from "../clients/ws-publisher.js";
import { authHeaders } from "../shared/server-launch.js";
import { transportNames } from "../shared/transports.js";
import {
  PUBLISH_VIA,
  type PublisherOptions,
  type PublishVia,
  type TargetProtocol,
} from "./types.js";

/** The reference wire's publishers, one per `publish.via`. */
const PUBLISHERS: Record<PublishVia, (url: string, options: PublisherOptions) => Publisher> = {
  http: (url, { connections, context, auth }) =>
    createHttpPublisher(url, { connections, context, headers: authHeaders(auth ?? null) }),
  websocket: (url, { context, auth }) =>
    createWebSocketPublisher(url, { context, headers: authHeaders(auth ?? null) }),
};

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
  publishVia: PUBLISH_VIA,
  cannot: {},
  healthPath: "/healthz",
  client(transport: string): ClientFactory {
    // The transports' own registry: a transport registered by an extension works too.
    return (options) => createClient(transport, options);
  },
  publisher(_wire, url, options) {
    return PUBLISHERS[options.via](url, options);
  },
};
