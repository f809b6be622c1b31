import os from "node:os";
import {
  createHttpPublisher,
  createWebSocketPublisher,
  type Publisher,
} from "../clients/publishers.js";
import { SocketTracker } from "../clients/types.js";
import { startLoopDelayMonitor } from "../metrics/loop-delay.js";
import { type ProtocolResult, RESULT_SCHEMA_VERSION, type RunResult } from "../metrics/types.js";
import type { Scenario } from "../scenario/types.js";
import type { ProtocolName } from "../shared/protocol.js";
import { monoMs, sleepUntil } from "../util/clock.js";
import { gitCommit } from "../util/git.js";
import { packageVersion } from "../util/paths.js";
import { startRedisServer } from "../util/redis-server.js";
import {
  countDeliveries,
  mergeField,
  reconnectMetrics,
  serverStallDetection,
  stallDetection,
  sumField,
} from "./aggregate.js";
import { assignClients, channelNames } from "./assign.js";
import { controlRedis, type RedisControl, startFaults } from "./faults.js";
import { interruptClock, interruptedWindow } from "./interrupt.js";
import { PublisherLoop } from "./publisher.js";
import {
  heartbeatTimeouts,
  type ServerSample,
  type ServerSet,
  sampleServers,
  startServers,
  waitHealthy,
} from "./servers.js";
import { ShardPool } from "./shards.js";

export interface RunProgress {
  protocol: ProtocolName;
  phase: "starting" | "ramp-up" | "warmup" | "measuring" | "draining" | "collecting";
  elapsedMs: number;
  totalMs: number;
  open: number;
  clients: number;
  received: number;
}

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (progress: RunProgress) => void;
  /** One-line notices for the user (stderr in the CLI). */
  log?: (line: string) => void;
  /** Notes to carry in the result (e.g. that the run fell back to the memory broker). */
  notes?: string[];
  /** Redis to use for `broker: redis` instead of starting one (default: $REDIS_URL, else start one). */
  redisUrl?: string;
}

/** Clients one shard process takes before the run adds another (see design.md "Scale and clocks"). */
const CLIENTS_PER_SHARD = 4000;
/** Time between telling shards to start and the first client connecting, so every shard has the plan. */
const START_DELAY_MS = 300;

/**
 * Runs the scenario once per protocol and returns the result document. When
 * `signal` aborts, the run stops at once, collects what the shards measured
 * so far, and returns it with status "partial". When something fails (a
 * server that will not start, Redis that cannot be started), it returns what
 * the protocols before the failure measured, with status "failed" and `error`.
 */
export async function runScenario(
  scenario: Scenario,
  options: RunOptions = {},
): Promise<RunResult> {
  const signal = options.signal ?? new AbortController().signal;
  const log = options.log ?? (() => {});
  const result = emptyResult(scenario);
  result.setup.notes.push(...(options.notes ?? []));
  // Only a Redis rtbench started itself can be restarted by a `redis-restart` fault.
  let redis: (RedisControl & { readonly url: string }) | null = null;
  try {
    let redisUrl: string | null = null;
    if (!scenario.target && scenario.server.broker === "redis") {
      const given = options.redisUrl ?? process.env.REDIS_URL;
      if (given) {
        redisUrl = given;
        log(`using Redis at ${redisUrl}`);
      } else {
        redis = controlRedis(await startRedisServer());
        redisUrl = redis.url;
        log(`started redis-server at ${redisUrl}`);
      }
    }
    for (const protocol of scenario.protocols) {
      if (signal.aborted) break;
      try {
        result.protocols[protocol] = await runProtocol(
          scenario,
          protocol,
          redisUrl,
          redis,
          signal,
          options,
        );
      } catch (error) {
        result.error = `${protocol}: ${error instanceof Error ? error.message : String(error)}`;
        break;
      }
    }
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
  } finally {
    await redis?.stop();
  }
  result.finishedAt = new Date().toISOString();
  // A failed run still returns what the protocols before the failure measured.
  result.status = result.error !== undefined ? "failed" : signal.aborted ? "partial" : "complete";
  result.reliable = Object.values(result.protocols).every((p) => p.generator.reliable);
  return result;
}

async function runProtocol(
  scenario: Scenario,
  protocol: ProtocolName,
  redisUrl: string | null,
  redis: RedisControl | null,
  signal: AbortSignal,
  options: RunOptions,
): Promise<ProtocolResult> {
  const progress = (phase: RunProgress["phase"], elapsedMs = 0, totalMs = 0, pool?: ShardPool) =>
    options.onProgress?.({
      protocol,
      phase,
      elapsedMs,
      totalMs,
      clients: scenario.clients.count,
      ...(pool ? pool.totals() : { open: 0, received: 0 }),
    });
  progress("starting");
  const interrupt = interruptClock(signal);

  let servers: ServerSet | null = null;
  let pool: ShardPool | null = null;
  const publishers: Publisher[] = [];
  const loopDelay = startLoopDelayMonitor();
  try {
    if (!scenario.target) {
      servers = await startServers(scenario, redisUrl, (line) =>
        options.log?.(`${protocol}: ${line}`),
      );
    }
    const urls = scenario.target ? scenario.target.urls : (servers as ServerSet).urls;
    await waitHealthy(urls);
    const baseline = scenario.target ? null : await sampleServers(urls);

    const shardCount =
      scenario.clients.shards || Math.ceil(scenario.clients.count / CLIENTS_PER_SHARD);
    pool = await ShardPool.start(shardCount);

    const channels = channelNames(scenario.clients.channelPrefix, scenario.clients.channels);
    const publisherContext = {
      sockets: new SocketTracker(),
      counters: { requests: 0, emptyPolls: 0 },
    };
    for (const url of urls) {
      publishers.push(
        scenario.publish.via === "websocket"
          ? createWebSocketPublisher(url, { context: publisherContext })
          : createHttpPublisher(url, {
              connections: scenario.publish.publishers,
              context: publisherContext,
            }),
      );
    }

    const rampStartMs = monoMs() + START_DELAY_MS;
    const publishStartMs = rampStartMs + scenario.clients.rampUpMs;
    // Warmup is the first part of `duration`: publishing runs for `duration`, measurement skips its start.
    const measureStartMs = publishStartMs + scenario.warmupMs;
    const measureEndMs = publishStartMs + scenario.durationMs;
    const drainEndMs = measureEndMs + scenario.drainMs;
    const totalMs = drainEndMs - rampStartMs;

    pool.begin({
      type: "start",
      protocol,
      clients: assignClients(scenario.clients.count, channels, urls, scenario.seed),
      totalClients: scenario.clients.count,
      rampStartMs,
      rampUpMs: scenario.clients.rampUpMs,
      measureStartMs,
      measureEndMs,
      shortPollIntervalMs: scenario.shortPoll.intervalMs,
      longPollTimeoutMs: scenario.longPoll.timeoutMs,
      sseClient: scenario.sse.client,
      urls,
      reconnect: reconnectPolicyFor(scenario, protocol),
      heartbeatIntervalMs: scenario.server.heartbeatIntervalMs,
      seed: scenario.seed,
    });

    const publisher = new PublisherLoop(
      {
        startMs: publishStartMs,
        endMs: measureEndMs,
        ratePerSec: scenario.publish.ratePerSec,
        channels: channels.length,
      },
      channels,
      publishers,
      scenario.publish.payloadBytes,
    );
    const publishing = sleepUntil(publishStartMs, signal).then(() => publisher.run(signal));
    // Faults end with this protocol's run (a pending restart is not left to the next protocol).
    const faultsDone = new AbortController();
    const stopFaults = () => faultsDone.abort();
    signal.addEventListener("abort", stopFaults, { once: true });
    const faults =
      servers && scenario.faults.length > 0
        ? startFaults(scenario.faults, {
            servers,
            redis,
            clients: pool,
            startMs: rampStartMs,
            seed: scenario.seed,
            signal: faultsDone.signal,
            log: (line) => options.log?.(`${protocol}: ${line}`),
          })
        : null;

    const ticker = setInterval(() => {
      const now = monoMs();
      const phase =
        now < publishStartMs
          ? "ramp-up"
          : now < measureStartMs
            ? "warmup"
            : now < measureEndMs
              ? "measuring"
              : "draining";
      progress(phase, now - rampStartMs, totalMs, pool ?? undefined);
    }, 1000);

    let cpuStart: ServerSample | null = null;
    let atEnd: ServerSample | null = null;
    try {
      await sleepUntil(measureStartMs, signal);
      loopDelay.reset();
      if (!scenario.target && !signal.aborted) cpuStart = await sampleServers(urls);
      await sleepUntil(measureEndMs, signal);
      if (!scenario.target && !signal.aborted) atEnd = await sampleServers(urls);
      await publishing;
      await sleepUntil(drainEndMs, signal);
    } finally {
      clearInterval(ticker);
      faultsDone.abort();
      signal.removeEventListener("abort", stopFaults);
    }
    const faultRecords = faults ? await faults.done : [];
    const zombieTimeouts =
      servers && faultRecords.some((f) => f.action === "stall-clients")
        ? await heartbeatTimeouts(urls)
        : [];
    // A restarted process starts its CPU and memory counters again: its cost cannot be computed.
    const restarted = faultRecords.some((f) => f.action === "kill" || f.action === "restart");
    if (restarted) {
      cpuStart = null;
      atEnd = null;
    }
    progress("collecting", totalMs, totalMs, pool);
    const parentLoopDelayP99 = loopDelay.p99Ms();
    const { reports, missing } = await pool.finish();
    await publisher.idle(5000);
    if (missing.length > 0)
      options.log?.(
        `${protocol}: no report from ${missing.join(", ")}; its clients are missing from the result`,
      );

    // An interrupted run judges only messages that had the drain time to arrive.
    const { judgedEndMs: windowEndMs, inFlightEndMs } = interruptedWindow(
      { startMs: measureStartMs, endMs: measureEndMs, drainMs: scenario.drainMs },
      interrupt.atMs(),
    );
    const counts = countDeliveries(channels, publisher.records, reports, {
      startMs: measureStartMs,
      endMs: windowEndMs,
    });
    const inFlight = signal.aborted
      ? countDeliveries(channels, publisher.records, reports, {
          startMs: windowEndMs,
          endMs: inFlightEndMs,
        }).lost
      : undefined;
    const windowSeconds = Math.max(0, windowEndMs - measureStartMs) / 1000;
    const bytes = sumWindow(reports);
    const connected = reports.reduce(
      (n, r) => n + r.subscribers.filter((s) => s.firstReadyMs !== null).length,
      0,
    );
    const generatorP99 = Math.max(parentLoopDelayP99, ...reports.map((r) => r.eventLoopDelayP99Ms));
    const isPolling = protocol === "short-poll" || protocol === "long-poll";

    return {
      clients: scenario.clients.count,
      connected,
      published: counts.published,
      publishFailed: counts.publishFailed,
      expected: counts.expected,
      delivered: counts.delivered,
      lost: counts.lost,
      ...(inFlight === undefined ? {} : { inFlightAtInterrupt: inFlight }),
      duplicates: sumField(reports, "duplicates"),
      reordered: sumField(reports, "reordered"),
      latency: mergeField(reports, "latency"),
      latencyFromSend: mergeField(reports, "latencyFromSend"),
      connect: mergeField(reports, "connect"),
      bytesPerDelivery:
        counts.delivered > 0 ? (bytes.bytesIn + bytes.bytesOut) / counts.delivered : null,
      requests: bytes.requests,
      requestsPerDelivery: counts.delivered > 0 ? bytes.requests / counts.delivered : null,
      emptyPollShare: isPolling && bytes.requests > 0 ? bytes.emptyPolls / bytes.requests : null,
      server: {
        cpuSecondsPer1kDeliveries:
          cpuStart && atEnd && counts.delivered > 0
            ? (atEnd.cpuSeconds - cpuStart.cpuSeconds) / (counts.delivered / 1000)
            : null,
        rssBytesPerConnection: rssPerConnection(baseline, atEnd, connected),
      },
      generator: {
        eventLoopDelayP99: generatorP99,
        // A shard that never reported took its clients' numbers with it.
        reliable:
          missing.length === 0 &&
          generatorP99 <= scenario.generator.maxEventLoopDelayMs &&
          publisher.maxLagMs <= scenario.generator.maxEventLoopDelayMs,
        missingShards: missing.length,
        eventLoopDelayLimitMs: scenario.generator.maxEventLoopDelayMs,
        processes: reports.length + 1,
        publisherMaxLagMs: publisher.maxLagMs,
      },
      connectFailures: sumField(reports, "connectFailures"),
      breaks: sumField(reports, "breaks"),
      ...reconnectMetrics(reports),
      stallDetection: stallDetection(faultRecords, rampStartMs, reports),
      serverStallDetection: serverStallDetection(
        faultRecords,
        rampStartMs,
        zombieTimeouts,
        scenario.server.heartbeatIntervalMs,
      ),
      faults: faultRecords,
      deliveriesPerSec: windowSeconds > 0 ? counts.delivered / windowSeconds : 0,
    };
  } finally {
    loopDelay.stop();
    await Promise.all(publishers.map((p) => p.close().catch(() => {})));
    await pool?.stop();
    await servers?.stop();
  }
}

/**
 * Server memory per connection: RSS growth from before the clients to the end
 * of the window, divided by connections. Below a few hundred connections the
 * allocator's own ups and downs (megabytes) swamp what connections cost, and
 * a shrinking RSS says nothing about them: then it is not reported.
 */
const MIN_CONNECTIONS_FOR_RSS = 500;

function rssPerConnection(
  before: ServerSample | null,
  after: ServerSample | null,
  connections: number,
): number | null {
  if (!before || !after || connections < MIN_CONNECTIONS_FOR_RSS) return null;
  const growth = after.rssBytes - before.rssBytes;
  return growth > 0 ? growth / connections : null;
}

function reconnectPolicyFor(scenario: Scenario, protocol: ProtocolName) {
  const sections = {
    "short-poll": scenario.shortPoll,
    "long-poll": scenario.longPoll,
    sse: scenario.sse,
    websocket: scenario.websocket,
  } as const;
  return sections[protocol].reconnect;
}

function sumWindow(
  reports: {
    window: { bytesIn: number; bytesOut: number; requests: number; emptyPolls: number };
  }[],
) {
  const total = { bytesIn: 0, bytesOut: 0, requests: 0, emptyPolls: 0 };
  for (const { window } of reports) {
    total.bytesIn += window.bytesIn;
    total.bytesOut += window.bytesOut;
    total.requests += window.requests;
    total.emptyPolls += window.emptyPolls;
  }
  return total;
}

function emptyResult(scenario: Scenario): RunResult {
  const cpus = os.cpus();
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    tool: { name: "rtbench", version: packageVersion() },
    scenario: { name: scenario.name, file: scenario.source.file, sha256: scenario.source.sha256 },
    environment: {
      node: process.version,
      cpus: cpus.length,
      cpuModel: cpus[0]?.model ?? "unknown",
      os: `${os.platform()} ${os.release()}`,
      gitCommit: gitCommit(process.cwd()),
    },
    startedAt: new Date().toISOString(),
    finishedAt: "",
    status: "failed",
    reliable: true,
    setup: {
      broker: scenario.target ? "external" : scenario.server.broker,
      instances: scenario.target ? scenario.target.urls.length : scenario.server.instances,
      target: scenario.target?.urls ?? null,
      durationMs: scenario.durationMs,
      warmupMs: scenario.warmupMs,
      clients: scenario.clients.count,
      channels: scenario.clients.channels,
      ratePerSec: scenario.publish.ratePerSec,
      payloadBytes: scenario.publish.payloadBytes,
      notes: [],
    },
    protocols: {},
  };
}
