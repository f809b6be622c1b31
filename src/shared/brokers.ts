/**
 * The brokers the reference server can run on, as data both sides read:
 * scenario validation and the JSON schemas (which kinds exist, which can be
 * shared between instances), `rtbench run` and `rtbench serve` (which backing
 * service to start), and the server's broker registry (one factory per kind).
 *
 * Adding a broker is a row here, a file implementing
 * `reference-server/broker/types.ts` `Broker` with a row in
 * `reference-server/broker/registry.ts`, and, when it needs a process of its
 * own, a backing service in `src/services/`. Both registries are keyed by
 * `BrokerKind`, so the compiler points at a missing row.
 */

export interface BrokerInfo {
  readonly kind: string;
  /** Several server instances can share its ids, history and fan-out. */
  readonly shared: boolean;
  /**
   * Presence and channel members (unread counters, fanout: tiered) are shared
   * between instances too; false: each instance keeps its own.
   */
  readonly sharedMembers: boolean;
  /** The backing service it connects to (started by rtbench unless a URL is given), or null. */
  readonly service: string | null;
  /** One line for help texts and the scenario schema. */
  readonly description: string;
}

export const BROKERS = [
  {
    kind: "memory",
    shared: false,
    sharedMembers: false,
    service: null,
    description: "one process, nothing to install",
  },
  {
    kind: "redis",
    shared: true,
    sharedMembers: true,
    service: "redis",
    description:
      "pub/sub fan-out and shared history between instances (rtbench starts redis-server)",
  },
  {
    kind: "redis-sharded",
    shared: true,
    sharedMembers: true,
    service: "redis",
    description:
      "as redis, fanned out with sharded pub/sub (SPUBLISH/SSUBSCRIBE, Redis 7) on the channel's hash tag",
  },
  {
    kind: "redis-streams",
    shared: true,
    sharedMembers: true,
    service: "redis",
    description:
      "history in a Redis stream per channel (XADD MAXLEN ~), which every instance reads with a blocking XREAD",
  },
  {
    kind: "nats",
    shared: true,
    sharedMembers: false,
    service: "nats",
    description:
      "ids and history in a JetStream stream per channel, fan-out over core NATS subjects (rtbench starts nats-server -js)",
  },
] as const satisfies readonly BrokerInfo[];

export type BrokerKind = (typeof BROKERS)[number]["kind"];

/** The faults that act on the broker's backing service (Redis, NATS) rather than on an instance. */
export type BrokerFaultAction = "broker-freeze" | "broker-stop" | "broker-restart";
/** Names of the backing services some broker needs. */
export type ServiceName = NonNullable<(typeof BROKERS)[number]["service"]>;

/** Every broker kind, in the order help texts and schemas list them. */
export const BROKER_KINDS: readonly BrokerKind[] = BROKERS.map((row) => row.kind);

export function brokerInfo(kind: BrokerKind): (typeof BROKERS)[number] {
  // Every BrokerKind has a row: the type is derived from the rows.
  return BROKERS.find((row) => row.kind === kind) as (typeof BROKERS)[number];
}

/** The kinds whose row has `property`, in the rows' order: what an error message offers instead. */
export function brokersWhere(property: (row: (typeof BROKERS)[number]) => boolean): BrokerKind[] {
  return BROKERS.filter(property).map((row) => row.kind);
}

/** The kinds that can connect more than one server instance. */
export function sharedBrokers(): BrokerKind[] {
  return brokersWhere((row) => row.shared);
}
