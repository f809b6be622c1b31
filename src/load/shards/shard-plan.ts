/**
 * How many shard processes a run needs, from the work they will do rather
 * than the client count alone, and whether this machine can hold the whole
 * run (shards, publisher, server instances) at all. Pure.
 *
 * The costs are CPU time measured on a 2-core Linux VM (Node 20, load
 * average about 5 from other work), with rtbench's own per-process CPU
 * sampling: one shard of 1,000 clients, 10 channels, for 8 s of window
 * (`publish.rate` 200/s for streams, 10/s and 50/s for polls), taking the
 * shard's and the server's CPU over the window (`saturation.processes`):
 *
 *   WebSocket 20,000 deliveries/s: shard 0.47 core, server 0.36 core
 *   SSE       20,000 deliveries/s: shard 0.47 core, server 0.40 core
 *   short poll 3,972 requests/s, 1,000 deliveries/s: shard 0.29, server 0.23
 *   long poll  4,721 requests/s, 4,998 deliveries/s: shard 0.43, server 0.40
 *
 * A delivery costs a shard about 24 µs and a request about 70 µs more, which
 * reproduces all four within 5 %; the reference server about 18 µs and 55 µs.
 */

import type { ShardPlan } from "../../metrics/types.js";

export type { ShardPlan };
export const WORK_COSTS = {
  /** Shard CPU µs per message received, whatever carries it. */
  shardDeliveryUs: 24,
  /** Shard CPU µs per HTTP request sent and answered, beyond the messages in it. */
  shardRequestUs: 70,
  /** Reference server CPU µs per delivery and per request answered. */
  serverDeliveryUs: 18,
  serverRequestUs: 55,
} as const;

/**
 * A shard is planned to use at most this share of a core: a process near a
 * full core queues work, and that queueing shows up in every time it takes.
 */
export const SHARD_CORE_SHARE = 0.6;
/**
 * Clients one shard holds at most: a process gets about 20,000 file
 * descriptors without privileges, and needs some besides its clients'.
 */
export const MAX_CLIENTS_PER_SHARD = 15_000;
/** A process expected to use at least this share of a core counts as busy. */
const BUSY_CORE_SHARE = 0.25;

export interface ShardPlanInput {
  clients: number;
  /** Expected deliveries per second over all clients. */
  deliveriesPerSec: number;
  /** Expected HTTP requests per second over all clients (polls). */
  requestsPerSec: number;
  cores: number;
  /** Server instances rtbench starts (0 against a target: their cost is not ours to plan). */
  serverInstances: number;
  /** `clients.shards`; 0 lets the plan choose. */
  requestedShards: number;
}

export function planShards(input: ShardPlanInput): ShardPlan {
  const cores = Math.max(1, input.cores);
  const clientCores =
    (input.deliveriesPerSec * WORK_COSTS.shardDeliveryUs +
      input.requestsPerSec * WORK_COSTS.shardRequestUs) /
    1e6;
  const serverCores =
    input.serverInstances > 0
      ? (input.deliveriesPerSec * WORK_COSTS.serverDeliveryUs +
          input.requestsPerSec * WORK_COSTS.serverRequestUs) /
        1e6
      : 0;
  // More shards than cores add no CPU, only processes competing for it.
  const byWork = Math.min(cores, Math.ceil(clientCores / SHARD_CORE_SHARE));
  const byClients = Math.ceil(input.clients / MAX_CLIENTS_PER_SHARD);
  const shards = input.requestedShards > 0 ? input.requestedShards : Math.max(1, byWork, byClients);
  const perShard = clientCores / shards;
  const perServer = input.serverInstances > 0 ? serverCores / input.serverInstances : 0;
  const busyProcesses =
    (perShard >= BUSY_CORE_SHARE ? shards : 0) +
    (perServer >= BUSY_CORE_SHARE ? input.serverInstances : 0);
  const demand = clientCores + serverCores;
  const problems: string[] = [];
  if (perShard > SHARD_CORE_SHARE * 1.5) {
    problems.push(`each of the ${shards} shard(s) needs about ${perShard.toFixed(2)} of a core`);
  }
  if (demand > cores * 0.8) {
    problems.push(
      `clients and servers need about ${clientCores.toFixed(2)} + ${serverCores.toFixed(2)} cores, on ${cores}`,
    );
  }
  if (busyProcesses > cores) {
    problems.push(`${busyProcesses} busy processes on ${cores} cores`);
  }
  const warning =
    problems.length > 0
      ? `this machine cannot hold the work: ${problems.join("; ")}; expect the generator or the server to saturate (the verdicts will say which)`
      : null;
  return { shards, clientCores, serverCores, cores, busyProcesses, warning };
}
