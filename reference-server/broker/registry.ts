import { type BrokerKind, brokerInfo } from "../../src/shared/brokers.js";
import { badInput } from "../../src/shared/errors.js";
import { createMemoryBroker } from "./memory.js";
import type { RedisKind } from "./redis-connections.js";
import type { Broker, HistoryLimits, ServiceBrokerOptions } from "./types.js";

export interface BrokerSetup {
  /** Where its backing service listens (`redis://...`, `nats://...`); null for a broker without one. */
  url: string | null;
  limits: HistoryLimits;
  /** How long a command to the backing service may take (Redis, NATS); its default when absent. */
  commandTimeoutMs?: number;
  /** Prepended to the broker's keys, streams and subjects; null: its default. */
  keyPrefix?: string | null;
  /** Count unread messages for offline channel members at publish (tiered fan-out). */
  unreadCounters?: boolean;
  /** Ids of every channel start above this (BrokerOptions). */
  idBase?: number;
  /** Memory broker: history released by its sweep (BrokerOptions). */
  onReleased?: (chars: number) => void;
}

/**
 * How the server creates each broker kind of src/shared/brokers.ts. Keyed by
 * `BrokerKind`: a new row there does not compile until it has a factory here.
 */
const FACTORIES: Record<BrokerKind, (setup: BrokerSetup & { url: string }) => Promise<Broker>> = {
  memory: async ({ limits, unreadCounters, idBase, onReleased }) =>
    createMemoryBroker(limits, {
      unreadCounters: unreadCounters ?? false,
      idBase: idBase ?? 0,
      onReleased,
    }),
  redis: (setup) => redisBroker("redis", setup),
  "redis-sharded": (setup) => redisBroker("redis-sharded", setup),
  "redis-streams": (setup) => redisBroker("redis-streams", setup),
  nats: async (setup) => {
    // Loaded on demand, as ioredis is.
    const { createNatsBroker } = await import("./nats.js");
    return createNatsBroker(serviceBrokerOptions(setup));
  },
};

async function redisBroker(kind: RedisKind, setup: BrokerSetup & { url: string }): Promise<Broker> {
  // Loaded on demand: a memory-broker server never loads ioredis.
  const { createRedisBroker } = await import("./redis.js");
  return createRedisBroker({ kind, ...serviceBrokerOptions(setup) });
}

/** The setup of a broker over a backing service, its defaults applied. */
function serviceBrokerOptions(setup: BrokerSetup & { url: string }): ServiceBrokerOptions {
  return {
    url: setup.url,
    limits: setup.limits,
    commandTimeoutMs: setup.commandTimeoutMs,
    keyPrefix: setup.keyPrefix ?? undefined,
    unreadCounters: setup.unreadCounters ?? false,
    idBase: setup.idBase ?? 0,
  };
}

/** Creates a broker of `kind`; one that needs a backing service must be given its URL. */
export async function createBroker(kind: BrokerKind, setup: BrokerSetup): Promise<Broker> {
  const { service } = brokerInfo(kind);
  if (service !== null && !setup.url) {
    throw badInput(`--broker ${kind} needs --broker-url (where its ${service} service listens)`);
  }
  // Brokers without a service ignore the URL.
  return FACTORIES[kind]({ ...setup, url: setup.url ?? "" });
}
