/**
 * Fault injection against real reference-server processes (dist/ must be
 * built: `npx tsc -p tsconfig.json`) and a real redis-server.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type FaultRecord, type ServiceControl, startFaults } from "../src/load/faults/faults.js";
import { controlService } from "../src/load/faults/service-control.js";
import { type ServerSet, startServers } from "../src/load/servers/servers.js";
import { parseScenario } from "../src/scenario/load.js";
import type { Scenario } from "../src/scenario/types.js";
import { natsService } from "../src/services/nats.js";
import { redisService } from "../src/services/redis.js";
import { monoMs } from "../src/util/clock.js";
import { describeRedis } from "./helpers/redis.js";
import { itService } from "./helpers/services.js";
import { WsCollector, wsUrl } from "./server-helpers.js";

let servers: ServerSet | null = null;
afterEach(async () => {
  await servers?.stop();
  servers = null;
});

function scenarioWith(lines: string): Scenario {
  return parseScenario(
    `clients: { rampUp: 0 }\nduration: 20s\nwarmup: 0\ndrain: 0\n${lines}`,
    "faults.yaml",
  );
}

function inject(
  scenario: Scenario,
  set: ServerSet,
  brokerService: ServiceControl | null = null,
  signal = new AbortController().signal,
): Promise<FaultRecord[]> {
  const lines: string[] = [];
  return startFaults(scenario.faults, {
    servers: set,
    brokerService,
    clients: null,
    startMs: monoMs(),
    seed: scenario.seed,
    signal,
    log: (line) => lines.push(line),
  }).done;
}

/** The pid that answers /healthz, or the reason it did not answer within `timeoutMs`. */
async function health(url: string, timeoutMs = 2000): Promise<number | string> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    return ((await res.json()) as { pid: number }).pid;
  } catch (error) {
    return `no answer: ${(error as Error).name}`;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe("fault injection (memory broker, one instance)", () => {
  it("kill with restartAfter brings /healthz back on the same port with a new PID", async () => {
    const scenario = scenarioWith(
      "faults: [{ at: 100ms, action: kill, instance: 0, restartAfter: 700ms }]",
    );
    servers = await startServers(scenario, null);
    const [url] = servers.urls as [string];
    const before = await health(url);
    expect(before).toBe(servers.instances[0]?.pid);

    const done = inject(scenario, servers);
    await sleep(400);
    expect(await health(url, 500)).toMatch(/^no answer/);
    const [record] = await done;

    expect(record).toMatchObject({ action: "kill", instance: 0 });
    expect(record?.error).toBeUndefined();
    expect((record?.endedAtMs ?? 0) - (record?.firedAtMs ?? 0)).toBeGreaterThanOrEqual(700);
    const after = await health(url);
    expect(typeof after).toBe("number");
    expect(after).not.toBe(before);
    expect(after).toBe(servers.instances[0]?.pid);
    expect(servers.urls).toEqual([url]);
  });

  it("stall makes /healthz time out during the stall and answer after", async () => {
    const scenario = scenarioWith(
      "faults: [{ at: 100ms, action: stall, instance: random, for: 1500ms }]",
    );
    servers = await startServers(scenario, null);
    const [url] = servers.urls as [string];
    const pid = await health(url);

    const done = inject(scenario, servers);
    await sleep(400);
    expect(await health(url, 500)).toBe("no answer: TimeoutError");
    const [record] = await done;

    expect(record).toMatchObject({ action: "stall", instance: 0 });
    expect((record?.endedAtMs ?? 0) - (record?.firedAtMs ?? 0)).toBeGreaterThanOrEqual(1500);
    expect(await health(url)).toBe(pid);
  });

  it("abort during a stall resumes the instance, so it can still be stopped gracefully", async () => {
    const scenario = scenarioWith("faults: [{ at: 0, action: stall, instance: 0, for: 19s }]");
    servers = await startServers(scenario, null);
    const [url] = servers.urls as [string];
    const controller = new AbortController();
    const done = inject(scenario, servers, null, controller.signal);
    await sleep(300);
    expect(await health(url, 300)).toMatch(/^no answer/);
    controller.abort();
    const [record] = await done;
    expect(record).toMatchObject({ action: "stall", instance: 0 });
    expect(typeof (await health(url))).toBe("number");
  });

  it("drop closes real WebSocket connections without a close handshake", async () => {
    const scenario = scenarioWith("faults: [{ at: 0, action: drop, fraction: 1 }]");
    servers = await startServers(scenario, null);
    const [url] = servers.urls as [string];
    const sockets = await Promise.all(
      Array.from({ length: 4 }, () => WsCollector.open(wsUrl(url, "/ws/chat/drop-test"))),
    );
    try {
      const [record] = await inject(scenario, servers);
      expect(record).toMatchObject({ action: "drop", instance: "all", dropped: 4 });
      const codes = await Promise.all(sockets.map((ws) => ws.waitForClose(5000)));
      expect(codes).toEqual([1006, 1006, 1006, 1006]);
    } finally {
      for (const ws of sockets) ws.close();
    }
  });

  it("records an error instead of throwing when a fault cannot act", async () => {
    const scenario = scenarioWith("faults: [{ at: 0, action: kill, instance: 0 }]");
    servers = await startServers(scenario, null);
    const records = await inject(scenario, servers);
    expect(records[0]?.error).toBeUndefined();
    // The instance is down and stays down: a start on a live one would be refused instead.
    await servers.start(0);
    await expect(servers.start(0)).rejects.toThrow(/server instance 0: it still runs \(pid \d+\)/);
  });
});

describeRedis("fault injection over Redis (two instances)", (redis) => {
  it("redis-restart: publishing fails while Redis is down and reaches the other instance after", async () => {
    const scenario = scenarioWith(
      "server: { instances: 2, broker: redis }\nfaults: [{ at: 200ms, action: redis-restart, for: 2s }]",
    );
    servers = await startServers(scenario, redis.url);
    const [first, second] = servers.urls as [string, string];
    const subscriber = await WsCollector.open(wsUrl(second, "/ws/chat/redis-fault"));
    const control: ServiceControl = {
      stop: () => redis.stop(),
      start: () => redis.restart(),
      crash: () => redis.stop(),
      restart: () => redis.restart(),
      freeze: () => {},
      thaw: () => {},
    };
    try {
      const done = inject(scenario, servers, control);
      await sleep(700);
      const during = await publishOnce(first, 1000);
      expect(during).not.toBe(201);

      const [record] = await done;
      expect(record).toMatchObject({ action: "redis-restart", instance: null });
      expect(record?.error).toBeUndefined();
      expect((record?.endedAtMs ?? 0) - (record?.firedAtMs ?? 0)).toBeGreaterThanOrEqual(2000);

      // ioredis reconnects with a bounded backoff (at most 1 s between tries).
      let after: number | string = "not tried";
      for (let attempt = 0; attempt < 20 && after !== 201; attempt++) {
        after = await publishOnce(first, 2000);
        if (after !== 201) await sleep(250);
      }
      expect(after).toBe(201);
      await subscriber.waitFor(
        (frame) => frame.type === "message" && (frame.body as { after?: boolean }).after === true,
        "the message published after the restart",
        10_000,
      );
    } finally {
      subscriber.close();
    }
  }, 30_000);
});

describe("broker faults on the service rtbench started (two instances)", () => {
  const cases = [
    { kind: "redis-streams", service: redisService },
    { kind: "nats", service: natsService },
  ] as const;
  for (const { kind, service } of cases) {
    itService(
      service,
      `${kind}: broker-freeze refuses publishes until SIGCONT, broker-stop brings it back on the same port, delivery resumes`,
      async () => {
        const scenario = scenarioWith(
          `server: { instances: 2, broker: ${kind}, redisCommandTimeout: 500ms }\nfaults: [{ at: 200ms, action: broker-freeze, for: 1500ms }, { at: 2500ms, action: broker-stop, for: 500ms }]`,
        );
        const control = controlService(await service.start());
        try {
          servers = await startServers(scenario, control.url);
          const [first, second] = servers.urls as [string, string];
          const before = await publishOnce(first, 2000, "before");
          expect(before).toBe(201);
          const subscriber = await WsCollector.open(wsUrl(second, "/ws/chat/redis-fault"));
          try {
            const done = inject(scenario, servers, control);
            await sleep(600);
            // Frozen: the broker holds the publish until the server gives up on it.
            expect(await publishOnce(first, 3000, "frozen")).not.toBe(201);
            const records = await done;
            expect(records.map((r) => [r.action, r.error])).toEqual([
              ["broker-freeze", undefined],
              ["broker-stop", undefined],
            ]);
            let after: number | string = "not tried";
            for (let attempt = 0; attempt < 40 && after !== 201; attempt++) {
              after = await publishOnce(first, 2000, "after");
              if (after !== 201) await sleep(250);
            }
            expect(after).toBe(201);
            await subscriber.waitFor(
              (frame) =>
                frame.type === "message" && (frame.body as { step?: string }).step === "after",
              "the message published after both faults",
              10_000,
            );
          } finally {
            subscriber.close();
          }
        } finally {
          await control.stop();
        }
      },
      30_000,
    );
  }
});

/** One publish: its HTTP status, or why it got none (a hang is cut off at `timeoutMs`). */
async function publishOnce(
  url: string,
  timeoutMs: number,
  step?: string,
): Promise<number | string> {
  try {
    const res = await fetch(`${url}/api/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ channel: "redis-fault", body: step ? { step } : { after: true } }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    return res.status;
  } catch (error) {
    return `no answer: ${(error as Error).name}`;
  }
}
