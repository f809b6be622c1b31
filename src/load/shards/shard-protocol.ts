import type { SlowPlan } from "../../clients/network-profile.js";
import type { ClientTlsSettings } from "../../clients/tls.js";
import type { ShardReport, UncountedPublishes } from "../../run-model/shard-report.js";
import type { BrokerFaultAction, ReconnectPolicy } from "../../scenario/types.js";
import type { ProtocolName, TransportSettings } from "../../shared/transports.js";
import type { TargetSpec } from "../../targets/types.js";
import type { ClientAssignment } from "./assign.js";
import type { ChurnPlan } from "./churn.js";
import type { FlapPlan, NetworkPlan } from "./network-plan.js";

/**
 * Messages between the parent and a shard (a child process running a slice
 * of the simulated clients). Times are monotonic ms, which every process on
 * the host shares (see util/clock.ts).
 */
export interface ShardStart {
  type: "start";
  protocol: ProtocolName;
  clients: ClientAssignment[];
  /** Total clients over all shards: client i connects at rampStartMs + i * rampUpMs / totalClients. */
  totalClients: number;
  rampStartMs: number;
  rampUpMs: number;
  /** Latency is recorded for messages scheduled in [measureStartMs, measureEndMs). */
  measureStartMs: number;
  measureEndMs: number;
  /** End of the drain: the per-second timeline runs from `rampStartMs` to here. */
  drainEndMs: number;
  /** The transport's scenario settings, for its clients (passed through untouched). */
  settings: TransportSettings;
  /** Every server URL: a client whose instance is down reconnects to the next one. */
  urls: string[];
  reconnect: ReconnectPolicy;
  /**
   * The server's heartbeat interval: the client watchdog waits
   * `reconnect.watchdogIntervals` of them (0: not known, no watchdog).
   */
  heartbeatIntervalMs: number;
  /** Seeds the backoff jitter and churn. */
  seed: number;
  /**
   * The protocol and wire the system under test speaks (the reference
   * protocol's clients are the transports' own); absent or null: the
   * transports' own clients.
   */
  target?: TargetSpec | null;
  /** The networks clients sit behind (clients.network); absent or null: none (loopback). */
  network?: NetworkPlan | null;
  /** Flap faults: clients whose network goes away now and then; absent: none. */
  flaps?: FlapPlan[];
  /** Slow consumers among the clients (clients.slow); absent or null: none. */
  slow?: SlowPlan | null;
  /** The transports each client tries in turn (clients.fallback); absent or null: `protocol` only. */
  fallback?: FallbackPlan | null;
  /** Clients leaving and coming back (clients.churn); absent: none. */
  churn?: ChurnPlan | null;
  /** Log when each client was connected (presence sampling compares with it). */
  logConnections?: boolean;
  /** URLs of modules of measures registered by an extension, imported before the clients start. */
  measureModules?: string[];
  /** How clients speak TLS to https:// and wss:// servers (a CA's PEM, never a key); absent: defaults. */
  tls?: ClientTlsSettings | null;
}

/** clients.fallback as a shard runs it: each step's transport with its own section's settings. */
export interface FallbackPlan {
  steps: { protocol: ProtocolName; settings: TransportSettings }[];
  /** A step not ready this long after its attempt started fails. */
  stepTimeoutMs: number;
}

/** Parent -> shard: stop the clients and report. */
export interface ShardFinish {
  type: "finish";
  /** The shard says in which seconds it counted these as deliveries (fleet-timeline.ts). */
  uncounted: UncountedPublishes;
}

/**
 * Parent -> shard: on a worker, the coordinator's clock minus this host's
 * (workers/clock-sync.ts); the shard's clock follows it from then on.
 */
export interface ShardClock {
  type: "clock";
  offsetMs: number;
}

/**
 * Parent -> shard: a broker fault ended at `atMs` (monotonic ms; the service
 * was thawed, started again or restarted), for the clients to time their
 * recovery from it (measures/broker-recovery.ts).
 */
export interface ShardBrokerBack {
  type: "broker-back";
  action: BrokerFaultAction;
  atMs: number;
}

export type ParentMessage = ShardStart | ShardFinish | ShardClock | ShardBrokerBack;

export interface ShardProgress {
  type: "progress";
  open: number;
  received: number;
}

export type ShardMessage = ShardProgress | ShardReport;
