import {
  createHttpPublisher,
  createWebSocketPublisher,
  type Publisher,
} from "../clients/publishers.js";
import { createClientContext } from "../clients/types.js";
import type { Scenario } from "../scenario/types.js";
import type { ProtocolName } from "../shared/transports.js";
import { monoMs } from "../util/clock.js";
import { assignClients, channelNames, stickyRoutes } from "./assign.js";
import { channelMembers, registerMembers } from "./members.js";
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
  /**
   * Sticky routing: per channel (same order as `channels`), the instances in
   * hash-ring failover order; null when clients spread round-robin.
   */
  routes: number[][] | null;
  /**
   * The instances that serve a channel, in the order to ask them: its ring
   * instance and the next ones (sticky), or every instance (they share the broker).
   */
  urlsFor(channel: string): string[];
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
  const channels = channelNames(scenario.clients.channelPrefix, scenario.clients.channels);
  const sticky = scenario.target === null && scenario.server.routing === "sticky";
  const ring = sticky ? stickyRoutes(channels, urls.length) : null;
  const routes = ring ? channels.map((c) => ring.get(c) as number[]) : null;
  const urlsFor = (channel: string) =>
    (ring?.get(channel) ?? urls.map((_, i) => i)).map((i) => urls[i] as string);
  const clients = assignClients({
    count: scenario.clients.count,
    channelNames: channels,
    baseUrls: urls,
    seed: scenario.seed,
    skew: scenario.clients.channelSkew,
    routing: sticky ? "sticky" : "pubsub",
  });
  if (scenario.target === null && scenario.server.fanout === "tiered") {
    const { members, channelSkew } = scenario.clients;
    await registerMembers(
      channelMembers(clients, channels, members, channelSkew),
      (channel) => urlsFor(channel)[0] as string,
    );
  }
  const pool = await ShardPool.start(shardCount);
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
      clients,
      totalClients: scenario.clients.count,
      rampStartMs: timeline.rampStartMs,
      rampUpMs: scenario.clients.rampUpMs,
      measureStartMs: timeline.measureStartMs,
      measureEndMs: timeline.measureEndMs,
      // The transport's own section, passed through untouched to its clients.
      settings: section.settings,
      reconnect: section.reconnect,
      urls,
      heartbeatIntervalMs: scenario.server.heartbeatIntervalMs,
      seed: scenario.seed,
      churn: scenario.clients.churn && {
        ...scenario.clients.churn,
        startMs: timeline.measureStartMs,
        endMs: timeline.measureEndMs,
      },
      logConnections: scenario.presence.sampleIntervalMs > 0,
    });
    return { pool, publishers, channels, routes, urlsFor, timeline, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Publishers count their bytes and requests apart from the subscribers'. */
function createPublishers(scenario: Scenario, urls: string[]): Publisher[] {
  const context = createClientContext();
  return urls.map((url) =>
    scenario.publish.via === "websocket"
      ? createWebSocketPublisher(url, { context })
      : createHttpPublisher(url, { connections: scenario.publish.publishers, context }),
  );
}
