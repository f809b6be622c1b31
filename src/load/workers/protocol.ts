import type { ShardReport, UncountedPublishes } from "../../run-model/shard-report.js";
import type { ShardBrokerBack, ShardStart } from "../shards/shard-protocol.js";
import type { MissingShard } from "../shards/shards.js";

/**
 * The control connection between the coordinator (`rtbench run --workers N`)
 * and a worker (`rtbench worker`): one WebSocket, one JSON message per frame,
 * each with a `type`. A worker runs its segment of the clients as local
 * shards and relays what they say; times are on the coordinator's monotonic
 * clock, which the worker's shards follow (clock-sync.ts).
 *
 *   worker -> coordinator   hello, time, prepared, heartbeat, reports
 *   coordinator -> worker   welcome | refused, time, prepare, begin, pause,
 *                           resume, broker-back, finish, stop, done
 */

/** The first message: who the worker is, and the rtbench version it runs. */
export interface Hello {
  type: "hello";
  version: string;
  /** JOB_COMPLETION_INDEX or --index; null: the coordinator assigns one. */
  index: number | null;
  host: string;
  pid: number;
}

export interface Welcome {
  type: "welcome";
  version: string;
  index: number;
  /** Seconds without a message after which the coordinator counts the worker as gone. */
  heartbeatTimeoutMs: number;
}

/** Sent instead of `welcome`, then the connection closes: the worker exits with `reason`. */
export interface Refused {
  type: "refused";
  reason: string;
}

/** A clock exchange: the worker sends `t0`; the coordinator answers with its `t1`. */
export interface TimeRequest {
  type: "time";
  t0: number;
}
export interface TimeReply {
  type: "time";
  t0: number;
  t1: number;
}

/** Start `shards` local shard processes for the next protocol's run. */
export interface Prepare {
  type: "prepare";
  shards: number;
}

export interface Prepared {
  type: "prepared";
}

/** This worker's clients and the run's plan, as one ShardStart (coordinator clock). */
export interface Begin {
  type: "begin";
  spec: ShardStart;
}

export interface Finish {
  type: "finish";
  uncounted: UncountedPublishes;
  timeoutMs: number;
}

/** Every second: alive, with the shards' progress and the clock estimate in use. */
export interface Heartbeat {
  type: "heartbeat";
  open: number;
  received: number;
  offsetMs: number | null;
  boundMs: number | null;
}

export interface Reports {
  type: "reports";
  reports: ShardReport[];
  missing: MissingShard[];
  /** The last offset applied and the widest bound applied since `begin`; null: never synchronised. */
  clock: { offsetMs: number; boundMs: number } | null;
}

export type WorkerMessage = Hello | TimeRequest | Prepared | Heartbeat | Reports;
export type CoordinatorMessage =
  | Welcome
  | Refused
  | TimeReply
  | Prepare
  | Begin
  | Finish
  | { type: "pause" }
  | { type: "resume" }
  | ShardBrokerBack
  | { type: "stop" }
  | { type: "done" };

/** The version check both sides make: one line naming both versions. */
export function versionMismatch(coordinator: string, worker: string): string | null {
  return coordinator === worker
    ? null
    : `version mismatch: the coordinator runs rtbench ${coordinator}, this worker rtbench ${worker}; run the same version on both`;
}
