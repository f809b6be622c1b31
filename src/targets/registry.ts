import type { ClientFactory, ClientOptions, TransportClient } from "../clients/types.js";
import { custom } from "./custom.js";
import { nchan } from "./nchan.js";
import { pushpin } from "./pushpin.js";
import { reference } from "./reference.js";
import { socketio } from "./socketio.js";
import type { TargetProtocol, TargetSpec } from "./types.js";

/** Every target protocol, by its name in `target.protocol`; the first is the default. */
const PROTOCOLS: readonly TargetProtocol[] = [reference, nchan, socketio, pushpin, custom];

const byName = new Map(PROTOCOLS.map((protocol) => [protocol.name, protocol]));

export const DEFAULT_TARGET_PROTOCOL = "reference";

export function targetProtocolNames(): string[] {
  return PROTOCOLS.map((protocol) => protocol.name);
}

export function findTargetProtocol(name: string): TargetProtocol | undefined {
  return byName.get(name);
}

/** The descriptor of a protocol that must exist (validated input); throws otherwise. */
export function targetProtocol(name: string): TargetProtocol {
  const found = byName.get(name);
  if (found === undefined) {
    throw new RangeError(
      `unknown target protocol ${JSON.stringify(name)}: expected one of ${targetProtocolNames().join(", ")}`,
    );
  }
  return found;
}

/**
 * The fleet's client maker for a target in a shard: the protocol's client of
 * each transport the shard's clients use, built once per transport
 * (templates compiled once). That is the shard's one transport, or with
 * clients.fallback each of its steps in turn.
 */
export function targetClients(
  spec: TargetSpec,
  transport: string,
): (protocol: string, options: ClientOptions) => TransportClient {
  const protocol = targetProtocol(spec.protocol);
  const factories = new Map<string, ClientFactory>();
  const factoryFor = (name: string): ClientFactory => {
    let factory = factories.get(name);
    if (factory === undefined) {
      factory = protocol.client(name, spec.wire);
      factories.set(name, factory);
    }
    return factory;
  };
  // The run's transport is built at once: a wire it cannot use fails the shard's start.
  factoryFor(transport);
  return (name, options) => factoryFor(name)(options);
}
