/**
 * Recovery from broker faults: the catch-up timer alone, then real runs
 * (reference servers, and the redis-server or nats-server rtbench starts)
 * with a broker freeze and a broker stop, read from the result.
 */
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { CatchUp } from "../src/load/fleet/catch-up.js";
import { runScenario } from "../src/load/run.js";
import type { BrokerRecovery } from "../src/measures/broker-recovery.js";
import { getMetric } from "../src/measures/names.js";
import type { RunResult } from "../src/metrics/types.js";
import { renderTable } from "../src/report/table.js";
import { parseScenario } from "../src/scenario/load.js";
import { deriveResultSchema, RESULT_SCHEMA_PATH, readJson } from "../src/schemas/derive.js";
import { natsService } from "../src/services/nats.js";
import { redisService } from "../src/services/redis.js";
import { itService } from "./helpers/services.js";

describe("CatchUp: a return timed by the stamps of what arrives", () => {
  it("times the first new message (recovered) and the last missed one (caught up)", () => {
    const back = new CatchUp();
    back.see(10, 20); // Not returning: nothing is timed.
    expect([back.recoveredMs(), back.caughtUpMs()]).toEqual([null, null]);
    back.begin(1000);
    back.see(900, 1010); // Sent before the return: held up, caught up at 1010 so far.
    back.see(1050, 1060); // The first message sent after it: recovered at 1060.
    back.see(950, 1100); // Another held-up one, later: caught up at 1100.
    back.see(1070, 1120); // A later new one changes nothing.
    expect([back.recoveredMs(), back.caughtUpMs()]).toEqual([60, 100]);
    back.end();
    expect([back.returnedAtMs, back.recoveredMs(), back.caughtUpMs()]).toEqual([null, null, null]);
  });

  it("starts afresh at each return", () => {
    const back = new CatchUp();
    back.begin(1000);
    back.see(1001, 1005);
    back.begin(2000);
    expect(back.recoveredMs()).toBeNull();
    back.see(1500, 2003);
    expect([back.recoveredMs(), back.caughtUpMs()]).toEqual([null, 3]);
  });
});

const CLIENTS = 12;
const FREEZE_MS = 1500;
const STOP_MS = 500;
/** What a busy 2-core machine may add on top of a fault's own length: generous on purpose. */
const SLACK_MS = 4000;

/** The broker frozen, then killed and started again. */
const FREEZE_AND_STOP = `
  - { at: 800ms, action: broker-freeze, for: ${FREEZE_MS}ms }
  - { at: 3s, action: broker-stop, for: ${STOP_MS}ms }`;

/** WebSocket over two instances, with `faults` (YAML list items) on the broker. */
function faultScenario(
  broker: string,
  commandTimeout: string,
  faults = FREEZE_AND_STOP,
  duration = "5s",
) {
  return parseScenario(
    `
name: broker-recovery-${broker}
protocols: [websocket]
server: { instances: 2, broker: ${broker}, redisCommandTimeout: ${commandTimeout}, heartbeatInterval: 5s }
clients: { count: ${CLIENTS}, channels: 2, rampUp: 200ms }
publish: { rate: 20/s, payloadBytes: 200 }
duration: ${duration}
warmup: 300ms
drain: 1s
reconnect: { initialDelay: 100ms, maxDelay: 1s, resume: true }
faults:${faults}
`,
    `broker-recovery-${broker}.yaml`,
  );
}

function recoveryOf(result: RunResult, kind: "freeze" | "stop"): BrokerRecovery {
  expect(result.error).toBeUndefined();
  const recovery = result.protocols.websocket?.brokerRecovery?.[kind];
  expect(recovery, `brokerRecovery.${kind}`).toBeDefined();
  return recovery as BrokerRecovery;
}

function expectRecovered(result: RunResult, kind: "freeze" | "stop", faultMs: number): void {
  const recovery = recoveryOf(result, kind);
  // Every subscriber was connected when the broker came back, and got new messages again.
  expect(recovery.subscribers).toBe(CLIENTS);
  expect(recovery.notRecovered).toBe(0);
  expect(recovery.recover.count).toBe(CLIENTS);
  // Timed from the fault's end: never before it, and not the whole run either.
  expect(recovery.recover.min).toBeGreaterThanOrEqual(0);
  expect(recovery.recover.max).toBeLessThan(faultMs + SLACK_MS);
}

describe("broker-recovery rows from a real run", () => {
  const brokers = [
    // A command timeout longer than the freeze: what was published into it waits, and Redis
    // runs it on waking, inside the publish deadline (half the timeout), so there is a replay
    // and the row is held to one.
    {
      broker: "redis",
      service: redisService,
      commandTimeout: "5s",
      heldUp: "run by Redis on waking",
      replayCertain: true,
    },
    // A command timeout shorter than the freeze: a publish the broker's client gave up on is
    // refused and sent again after it (a new send, not a replay), so whether anything was held
    // up depends on timing (the full suite once saw none with its files 3 at a time).
    {
      broker: "nats",
      service: natsService,
      commandTimeout: "500ms",
      heldUp: "stored by JetStream on waking",
      replayCertain: false,
    },
  ] as const;
  for (const { broker, service, commandTimeout, heldUp, replayCertain } of brokers) {
    itService(
      service,
      `${broker}: every subscriber recovers from a freeze and a stop, what the freeze held up (${heldUp}) arrives as a replay, nothing lost`,
      async () => {
        const result = await runScenario(faultScenario(broker, commandTimeout));
        const ws = result.protocols.websocket;
        expect(ws?.connected).toBe(CLIENTS);
        expect(ws?.lost).toBe(0);
        expectRecovered(result, "freeze", FREEZE_MS);
        expectRecovered(result, "stop", STOP_MS);
        const freeze = recoveryOf(result, "freeze");
        // From the freeze's end, not its start: most get the channel's next message (every
        // 100 ms) at once, far sooner than the freeze lasted.
        expect(freeze.recover.p50).toBeLessThan(FREEZE_MS);
        // What the freeze held up arrives after its end, and soon: a replay. Not for every
        // subscriber: a shard hears of the fault's end from the parent, and what Redis
        // delivers on waking can reach a subscriber first, untimed (8 of 12 once under the
        // full suite's load, 12 of 12 alone).
        if (replayCertain) expect(freeze.replay.count).toBeGreaterThan(0);
        if (freeze.replay.count > 0) expect(freeze.replay.max).toBeLessThan(FREEZE_MS + SLACK_MS);
        expect(getMetric(result, "websocket.brokerRecovery.freeze.recover.p99")).toBe(
          freeze.recover.p99,
        );
        const validate = new Ajv({ strict: false }).compile(
          deriveResultSchema(readJson(RESULT_SCHEMA_PATH)),
        );
        expect(validate(JSON.parse(JSON.stringify(result))), JSON.stringify(validate.errors)).toBe(
          true,
        );
        const table = renderTable(result);
        expect(table).toMatch(/recover p99 ms \(freeze\) +\d/);
        expect(table).toMatch(/not recovered \(stop\) +0/);
        expect(table).not.toContain("(restart)");
      },
      40_000,
    );
  }
});

describe("a broker-stop with a command timeout longer than the stop", () => {
  // nats.js empties its outbound buffer at every reconnect attempt, so a request written
  // while the connection is down is never sent. It used to wait out its whole timeout (5 s
  // here, as long as the publisher's acknowledgement timeout), then the publisher's retry
  // stored it after the subscribers had stopped listening: acknowledged, and lost.
  itService(
    natsService,
    "nats: publishes into the stop are refused at once (never acknowledged late), nothing lost",
    async () => {
      // A shorter run: answers are still waited for until 5 s after the last send, so a publish
      // that waited out its timeout is answered, and counted, before the run ends.
      const result = await runScenario(
        faultScenario(
          "nats",
          "5s",
          `\n  - { at: 1500ms, action: broker-stop, for: ${STOP_MS}ms }`,
          "3s",
        ),
      );
      expect(result.error).toBeUndefined();
      const ws = result.protocols.websocket;
      expect(ws?.connected).toBe(CLIENTS);
      expect(ws?.lost).toBe(0);
      // Nothing waited out the 5 s timeout: the broker said at once that NATS was away.
      expect(ws?.publishAcks?.late).toBe(0);
      expect(ws?.publishAcks?.unanswered).toBe(0);
      expectRecovered(result, "stop", STOP_MS);
    },
    40_000,
  );
});
