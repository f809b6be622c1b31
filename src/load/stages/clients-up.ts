import { availableParallelism } from "node:os";
import type { Publisher } from "../../clients/publishers.js";
import { type ClientTlsSettings, createClientTlsState } from "../../clients/tls.js";
import { createClientContext } from "../../clients/types.js";
import { shardMeasureModules } from "../../measures/registry.js";
import { planTimeline, type Timeline } from "../../run-model/timeline.js";
import type { Fault, Scenario } from "../../scenario/types.js";
import { type ProtocolName, transport } from "../../shared/transports.js";
import { monoMs } from "../../util/clock.js";
import { type SystemUnderTest, systemUnderTest } from "../servers/system-under-test.js";
import {
  assignClients,
  type ClientAssignment,
  channelNames,
  stickyRoutes,
} from "../shards/assign.js";
import { channelMembers, registerMembers } from "../shards/members.js";
import type { FlapPlan } from "../shards/network-plan.js";
import { planShards, type ShardPlan } from "../shards/shard-plan.js";
import type { FallbackPlan, ShardStart } from "../shards/shard-protocol.js";
import { type ClientPool, type ClientPoolFactory, ShardPool } from "../shards/shards.js";

/** Time between telling shards to start and the first client connecting, so every shard has the plan. */
const START_DELAY_MS = 300;

/** The generator's side of a protocol's run, started and told when to do what. */
export interface Clients {
  /** The shard processes (or the workers) running the subscribers. */
  pool: ClientPool;
  /** Some clients are slow consumers (clients.slow): the servers' write timeouts are asked for. */
  slow: boolean;
  /** One publisher per server instance. */
  publishers: Publisher[];
  /** How many shards, from the work they do, and whether the machine holds the run. */
  plan: ShardPlan;
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
  system: SystemUnderTest,
  protocol: ProtocolName,
  urls: string[],
  log: (line: string) => void = () => {},
  /** How clients and publishers speak TLS to https:// servers; null: the defaults. */
  tls: ClientTlsSettings | null = null,
  /** Where the clients run: local shard processes unless workers take them. */
  startPool: ClientPoolFactory = ShardPool.start,
): Promise<Clients> {
  const plan = planFor(scenario, protocol, system);
  if (plan.warning !== null) log(plan.warning);
  const channels = channelNames(scenario.clients.channelPrefix, scenario.clients.channels);
  const sticky = system.sticky;
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
  if (system.registersMembers) {
    const { members, channelSkew } = scenario.clients;
    await registerMembers(
      channelMembers(clients, channels, members, channelSkew),
      (channel) => urlsFor(channel)[0] as string,
      system.auth,
    );
  }
  const pool = await startPool(plan.shards);
  const publishers = createPublishers(scenario, system, urls, tls);
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
    pool.begin(shardStart(scenario, system, protocol, { clients, urls, timeline, tls }));
    return {
      pool,
      slow: scenario.clients.slow !== null,
      publishers,
      plan,
      channels,
      routes,
      urlsFor,
      timeline,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** What every shard is told: its clients, the run's timeline, and everything its clients do. */
function shardStart(
  scenario: Scenario,
  system: SystemUnderTest,
  protocol: ProtocolName,
  run: {
    clients: ClientAssignment[];
    urls: string[];
    timeline: Timeline;
    tls: ClientTlsSettings | null;
  },
): ShardStart {
  const { clients, urls, timeline, tls } = run;
  const section = scenario.transports[protocol];
  if (section === undefined) throw new Error(`no scenario section for transport ${protocol}`);
  return {
    type: "start",
    protocol,
    clients,
    totalClients: scenario.clients.count,
    rampStartMs: timeline.rampStartMs,
    rampUpMs: scenario.clients.rampUpMs,
    measureStartMs: timeline.measureStartMs,
    measureEndMs: timeline.measureEndMs,
    drainEndMs: timeline.drainEndMs,
    // The transport's own section, passed through untouched to its clients.
    settings: section.settings,
    reconnect: section.reconnect,
    urls,
    heartbeatIntervalMs: system.heartbeatIntervalMs,
    seed: scenario.seed,
    target: system.clients,
    network: scenario.clients.network && {
      mix: scenario.clients.network,
      originMs: timeline.rampStartMs,
    },
    flaps: flapPlans(scenario.faults, timeline.rampStartMs, timeline.measureEndMs),
    slow: scenario.clients.slow,
    fallback: fallbackPlan(scenario),
    churn: scenario.clients.churn && {
      ...scenario.clients.churn,
      startMs: timeline.measureStartMs,
      endMs: timeline.measureEndMs,
    },
    logConnections: scenario.presence.sampleIntervalMs > 0,
    measureModules: shardMeasureModules(),
    tls,
  };
}

/** The run's flap faults in monotonic ms: from `at` (after ramp-up starts) to the window's end. */
function flapPlans(faults: readonly Fault[], rampStartMs: number, endMs: number): FlapPlan[] {
  const plans: FlapPlan[] = [];
  for (const fault of faults) {
    if (fault.action !== "flap") continue;
    const { everyMs, offlineForMs, fraction, jitterMs } = fault;
    plans.push({
      startMs: rampStartMs + fault.atMs,
      endMs,
      everyMs,
      offlineForMs,
      fraction,
      jitterMs,
    });
  }
  return plans;
}

/** What one protocol's run asks of its clients: how many, and their expected work per second. */
export interface ExpectedWork {
  clients: number;
  deliveriesPerSec: number;
  /** HTTP requests per second over all clients (polls). */
  requestsPerSec: number;
}

/** The expected work of one protocol's run, from the scenario's publish rate and the transport. */
export function expectedWork(scenario: Scenario, protocol: ProtocolName): ExpectedWork {
  const { count, channels } = scenario.clients;
  const row = transport(protocol);
  const perChannelPerSec = scenario.publish.ratePerSec / channels;
  const deliveriesPerSec = perChannelPerSec * count;
  const settings = scenario.transports[protocol]?.settings ?? {};
  const requestsPerSec =
    row.requestsPerClientPerSec !== undefined
      ? count * row.requestsPerClientPerSec(settings, perChannelPerSec)
      : row.delivery === "poll"
        ? deliveriesPerSec
        : 0;
  return { clients: count, deliveriesPerSec, requestsPerSec };
}

/** The shard plan of one protocol's run on this machine. */
export function planFor(
  scenario: Scenario,
  protocol: ProtocolName,
  system: Pick<SystemUnderTest, "localInstances"> = systemUnderTest(scenario),
): ShardPlan {
  return planShards({
    ...expectedWork(scenario, protocol),
    cores: availableParallelism(),
    serverInstances: system.localInstances,
    requestedShards: scenario.clients.shards,
  });
}

/**
 * Publishers count their bytes and requests apart from the subscribers'.
 * Each instance's pool may hold every publish in flight at once: the cap is
 * the publisher loop's, over all instances.
 */
function createPublishers(
  scenario: Scenario,
  system: SystemUnderTest,
  urls: string[],
  tls: ClientTlsSettings | null,
): Publisher[] {
  const context = createClientContext(createClientTlsState(tls ?? undefined));
  const options = {
    connections: scenario.publish.maxInFlight,
    context,
    via: scenario.publish.via,
    auth: system.auth,
  };
  const { wire } = system.clients;
  return urls.map((url) => system.protocol.publisher(wire, url, options));
}

/** clients.fallback with each step's settings, from that transport's own scenario section. */
function fallbackPlan(scenario: Scenario): FallbackPlan | null {
  const fallback = scenario.clients.fallback;
  if (fallback === null) return null;
  return {
    steps: fallback.order.map((protocol) => ({
      protocol,
      settings: scenario.transports[protocol]?.settings ?? {},
    })),
    stepTimeoutMs: fallback.stepTimeoutMs,
  };
}
