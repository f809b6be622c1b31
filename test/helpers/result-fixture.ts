import {
  createLatencyHistogram,
  recordMs,
  summarizeHistogram,
} from "../../src/metrics/histogram.js";
import type { HistogramSummary, ProtocolResult, RunResult } from "../../src/metrics/types.js";
import type { ProtocolName } from "../../src/shared/transports.js";
import { seededRandom } from "../../src/util/random.js";

/**
 * Builds RunResults for tests from real histograms (values recorded, then
 * summarised and encoded by the production code), so percentile numbers in
 * fixtures can never disagree with hdr.
 */

/** `count` latencies around `typicalMs` with a long tail (log-normal-ish), in ms. */
export function latencySamples(seed: number, count: number, typicalMs: number): number[] {
  const random = seededRandom(seed);
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const u = Math.max(random(), 1e-9);
    samples.push(
      typicalMs * Math.exp(0.6 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random())),
    );
  }
  return samples;
}

export function summaryOf(valuesMs: readonly number[]): HistogramSummary {
  const h = createLatencyHistogram();
  for (const v of valuesMs) recordMs(h, v);
  return summarizeHistogram(h);
}

export interface ProtocolFixture {
  latencyMs?: readonly number[];
  latencyFromSendMs?: readonly number[];
  connectMs?: readonly number[];
  overrides?: Partial<ProtocolResult>;
}

export function makeProtocolResult(
  protocol: ProtocolName,
  fixture: ProtocolFixture = {},
): ProtocolResult {
  const latencyMs = fixture.latencyMs ?? latencySamples(1, 2000, 2);
  const polling = protocol === "short-poll" || protocol === "long-poll";
  return {
    clients: 100,
    connected: 100,
    published: 200,
    publishFailed: 0,
    expected: 20_000,
    delivered: 20_000,
    lost: 0,
    duplicates: 0,
    reordered: 0,
    latency: summaryOf(latencyMs),
    latencyFromSend: summaryOf(fixture.latencyFromSendMs ?? latencyMs.map((v) => v * 0.9)),
    connect: summaryOf(fixture.connectMs ?? latencySamples(2, 100, 3)),
    bytesPerDelivery: polling ? 480 : 61.2,
    requests: polling ? 28_000 : 0,
    requestsPerDelivery: polling ? 1.4 : 0,
    emptyPollShare: polling ? 0.3 : null,
    server: { cpuSecondsPer1kDeliveries: 0.02, rssBytesPerConnection: 9100 },
    generator: {
      eventLoopDelayP99: 3.1,
      reliable: true,
      processes: 2,
      publisherMaxLagMs: 0.5,
      eventLoopDelayLimitMs: 50,
    },
    unrecognisedFrames: 0,
    connectFailures: 0,
    breaks: 0,
    reconnect: summaryOf([]),
    outage: summaryOf([]),
    reconnects: 0,
    reconnectAttempts: 0,
    attemptsPerReconnect: null,
    failedReconnects: 0,
    neverReconnected: 0,
    neverConnected: 0,
    admissionWaits: 0,
    tlsFullHandshakes: 0,
    tlsResumedHandshakes: 0,
    watchdogBreaks: 0,
    gaps: 0,
    resumeRecovered: 0,
    churnLeaves: 0,
    unreadChecked: 0,
    unreadMismatches: 0,
    presenceEvents: 0,
    presenceFrames: 0,
    peakConnectAttemptsPerSec: 0,
    stallDetection: null,
    serverStallDetection: null,
    faults: [],
    deliveriesPerSec: 2000,
    ...fixture.overrides,
  };
}

export interface RunFixture {
  protocols?: Partial<Record<ProtocolName, ProtocolFixture>>;
  overrides?: Partial<RunResult>;
}

export const SCENARIO_SHA = "a".repeat(64);

export function makeResult(fixture: RunFixture = {}): RunResult {
  const wanted = fixture.protocols ?? { "short-poll": {}, "long-poll": {}, sse: {}, websocket: {} };
  const protocols: RunResult["protocols"] = {};
  for (const [name, protocolFixture] of Object.entries(wanted) as [
    ProtocolName,
    ProtocolFixture,
  ][]) {
    protocols[name] = makeProtocolResult(name, protocolFixture);
  }
  return {
    schemaVersion: 1,
    tool: { name: "rtbench", version: "0.1.0" },
    scenario: { name: "fixture", file: "scenarios/fixture.yaml", sha256: SCENARIO_SHA },
    environment: { node: "v20.20.2", cpus: 2, cpuModel: "Test CPU", os: "linux", gitCommit: null },
    startedAt: "2026-11-27T18:00:00.000Z",
    finishedAt: "2026-11-27T18:00:30.000Z",
    status: "complete",
    reliable: true,
    setup: {
      broker: "memory",
      instances: 1,
      target: null,
      durationMs: 30_000,
      warmupMs: 5000,
      clients: 100,
      channels: 10,
      ratePerSec: 20,
      payloadBytes: 256,
      notes: [],
    },
    protocols,
    ...fixture.overrides,
  };
}
