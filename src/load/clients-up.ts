import type { Publisher } from "../clients/publishers.js";
import { createClientContext } from "../clients/types.js";
import type { Scenario } from "../scenario/types.js";
import type { ProtocolName } from "../shared/transports.js";
import { DEFAULT_TARGET_PROTOCOL, targetProtocol } from "../targets/registry.js";
import { monoMs } from "../util/clock.js";
import { assignClients, channelNames } from "./assign.js";
import { ShardPool } from "./shards.js";
import { planTimeline, type Timeline } from "./timeline.js";

/**
 * Clients one shard process takes before the run adds another. One process
 * receives only so many messages per second before its own queueing
 * distorts the latency it reports, and holds only so many sockets (about
 * 20,000 file descriptors without privileges): more clients, more shards.
 */
const CLIENTS_PER_SHARD = 4000;
/** Time between telling shards to start and the first client connecting, so every shard has the plan. */
const START_DELAY_MS = 300;

/** The generator's side of a protocol's run, started and told when to do what. */
export interface Clients {
  /** The shard processes running the subscribers. */
  pool: ShardPool;
  /** One publisher per server instance. */
  publishers: Publisher[];
  channels: string[];
  timeline: Timeline;
  /** Closes the publishers and stops the shards. */
  stop(): Promise<void>;
}

/**
 * Stage 2 of a protocol's run: starts the shard processes and the
 * publishers, plans the run's timeline from now, and tells every shard its
 * clients and the plan.
 */
export async function clientsUp(
  scenario: Scenario,
  protocol: ProtocolName,
  urls: string[],
): Promise<Clients> {
  const shardCount =
    scenario.clients.shards || Math.ceil(scenario.clients.count / CLIENTS_PER_SHARD);
  const pool = await ShardPool.start(shardCount);
  const channels = channelNames(scenario.clients.channelPrefix, scenario.clients.channels);
  const publishers = createPublishers(scenario, urls);
  const stop = async () => {
    await Promise.all(publishers.map((p) => p.close().catch(() => {})));
    await pool.stop();
  };

  try {
    const timeline = planTimeline({
      nowMs: monoMs(),
      startDelayMs: START_DELAY_MS,
      rampUpMs: scenario.clients.rampUpMs,
      warmupMs: scenario.warmupMs,
      durationMs: scenario.durationMs,
      drainMs: scenario.drainMs,
      faultsAtMs: scenario.faults.map((f) => f.atMs),
    });
    const section = scenario.transports[protocol];
    if (section === undefined) throw new Error(`no scenario section for transport ${protocol}`);
    pool.begin({
      type: "start",
      protocol,
      clients: assignClients(scenario.clients.count, channels, urls, scenario.seed),
      totalClients: scenario.clients.count,
      rampStartMs: timeline.rampStartMs,
      rampUpMs: scenario.clients.rampUpMs,
      measureStartMs: timeline.measureStartMs,
      measureEndMs: timeline.measureEndMs,
      // The transport's own section, passed through untouched to its clients.
      settings: section.settings,
      reconnect: section.reconnect,
      urls,
      heartbeatIntervalMs: heartbeatIntervalMs(scenario),
      seed: scenario.seed,
      target:
        scenario.target && scenario.target.protocol !== DEFAULT_TARGET_PROTOCOL
          ? { protocol: scenario.target.protocol, wire: scenario.target.wire }
          : null,
    });
    return { pool, publishers, channels, timeline, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Publishers count their bytes and requests apart from the subscribers'. */
function createPublishers(scenario: Scenario, urls: string[]): Publisher[] {
  const context = createClientContext();
  const protocol = targetProtocol(scenario.target?.protocol ?? DEFAULT_TARGET_PROTOCOL);
  const wire = scenario.target?.wire ?? {};
  const options = { connections: scenario.publish.publishers, context, via: scenario.publish.via };
  return urls.map((url) => protocol.publisher(wire, url, options));
}

/** What the client watchdog counts in: the server's heartbeats, 0 when a target's are not known. */
function heartbeatIntervalMs(scenario: Scenario): number {
  if (scenario.target === null) return scenario.server.heartbeatIntervalMs;
  return scenario.target.heartbeatIntervalMs ?? 0;
}
