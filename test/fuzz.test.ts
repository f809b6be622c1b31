/**
 * Seeded fuzzing of the reference server, against both brokers: malformed
 * HTTP, publish bodies and WebSocket sessions, while a healthy WebSocket and
 * SSE subscriber watch the channel the valid fuzz publishes go to. Nothing may
 * crash the server, hang a connection, answer 5xx or a non-JSON error, or
 * make a healthy subscriber miss, repeat or silently skip an id.
 *
 * RTBENCH_FUZZ_INPUTS (inputs per category, default 400) and RTBENCH_FUZZ_SEED
 * (default 14) scale and vary it; `npm run bench -- fuzz` runs a large one and
 * keeps the summary. A failure prints the seed, so it reproduces.
 */
import { writeFileSync } from "node:fs";
import { Agent } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Outcome, sendHttp, sendPublish, sendWebSocket } from "./helpers/fuzz-drive.js";
import { createFuzzer, HEALTHY_CHANNEL } from "./helpers/fuzz-inputs.js";
import { describeRedis } from "./helpers/redis.js";
import { type ServerProcess, startServerProcess } from "./helpers/server-process.js";
import { poll, SseReader, sleep, until, WsCollector, wsUrl } from "./server-helpers.js";

const INPUTS_PER_CATEGORY = Number(process.env.RTBENCH_FUZZ_INPUTS ?? 400);
const SEED = Number(process.env.RTBENCH_FUZZ_SEED ?? 14);
const MAX_BODY_BYTES = 65_536;
const CONCURRENCY = 16;

interface CategoryReport {
  inputs: number;
  outcomes: Record<string, number>;
  findings: string[];
}

/** One input, ready to send: `what` names it in findings (kind and first bytes). */
interface Job {
  what: string;
  run(): Promise<Outcome>;
}

function job(kind: string, sent: Buffer, run: () => Promise<Outcome>): Job {
  return { what: `${kind} ${JSON.stringify(sent.subarray(0, 120).toString("latin1"))}`, run };
}

/** Runs `count` inputs from `next`, `CONCURRENCY` at a time. */
async function runCategory(
  count: number,
  next: () => Job,
  storedIds: number[],
): Promise<CategoryReport> {
  const report: CategoryReport = { inputs: 0, outcomes: {}, findings: [] };
  const jobs = Array.from({ length: count }, () => next());
  let index = 0;
  const worker = async () => {
    while (index < jobs.length) {
      const current = jobs[index++] as Job;
      const outcome = await current.run();
      report.inputs++;
      report.outcomes[outcome.label] = (report.outcomes[outcome.label] ?? 0) + 1;
      if (outcome.finding) report.findings.push(`${outcome.finding} (input: ${current.what})`);
      storedIds.push(...(outcome.storedIds ?? []));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return report;
}

function fuzzSuite(broker: string, brokerArgs: () => string[]) {
  let server: ServerProcess;
  let healthyWs: WsCollector;
  let healthySse: SseReader;
  beforeAll(async () => {
    server = await startServerProcess([
      ...brokerArgs(),
      "--history-max-count",
      "1000000",
      "--request-timeout-ms",
      "1000",
      "--write-timeout-ms",
      "2000",
    ]);
    healthyWs = await WsCollector.open(wsUrl(server.url, `/ws/chat/${HEALTHY_CHANNEL}`));
    healthySse = await SseReader.open(`${server.url}/api/stream/${HEALTHY_CHANNEL}`);
  });
  afterAll(async () => {
    healthyWs?.close();
    healthySse?.close();
    await server?.stop();
  });

  it(`survives ${INPUTS_PER_CATEGORY} inputs per category (seed ${SEED}) with healthy subscribers intact`, async () => {
    const fuzzer = createFuzzer(SEED, MAX_BODY_BYTES);
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const rssBeforeBytes = await server.rssBytes();
    const startedAt = performance.now();
    const storedIds: number[] = [];
    const url = server.url;
    const [http, json, websocket] = await Promise.all([
      runCategory(
        INPUTS_PER_CATEGORY,
        () => {
          const input = fuzzer.http();
          return job(input.kind, input.bytes, () => sendHttp(url, input));
        },
        storedIds,
      ),
      runCategory(
        INPUTS_PER_CATEGORY,
        () => {
          const input = fuzzer.publish();
          return job(input.kind, input.body, () => sendPublish(url, input, agent));
        },
        storedIds,
      ),
      runCategory(
        INPUTS_PER_CATEGORY,
        () => {
          const input = fuzzer.websocket();
          const sent = input.raw ?? Buffer.from(`${input.path} ${JSON.stringify(input.frames)}`);
          return job(input.kind, sent, () => sendWebSocket(url, input));
        },
        storedIds,
      ),
    ]);
    agent.destroy();
    const seconds = (performance.now() - startedAt) / 1000;

    // Everything the channel holds, read back by cursor: every answer 200, no gap, no hole.
    const lastId = (await poll(`${url}/api/messages?channel=${HEALTHY_CHANNEL}`)).body.cursor;
    const polled: number[] = [];
    for (let cursor = 0, pages = 0; cursor < lastId && pages < 10_000; pages++) {
      const page = await poll(`${url}/api/messages?channel=${HEALTHY_CHANNEL}&since=${cursor}`);
      expect(page.status).toBe(200);
      expect(page.body.gap).toBeUndefined();
      polled.push(...page.body.messages.map((m) => m.id));
      cursor = page.body.cursor;
    }
    await until(
      healthyWs,
      () => healthyWs.messageIds.length >= lastId,
      `${lastId} messages on the healthy WebSocket`,
      15_000,
    ).catch(() => {});
    await until(
      healthySse,
      () => healthySse.messageIds.length >= lastId,
      `${lastId} messages on the healthy SSE stream`,
      15_000,
    ).catch(() => {});
    await sleep(100);
    const rssAfterBytes = await server.rssBytes();
    const health = await fetch(`${url}/healthz`);

    const all = Array.from({ length: lastId }, (_, i) => i + 1);
    const subscribers = { websocket: healthyWs.messageIds, sse: healthySse.messageIds };
    const healthy = Object.fromEntries(
      Object.entries(subscribers).map(([name, ids]) => {
        const seen = new Set(ids);
        return [
          name,
          {
            received: ids.length,
            lost: storedIds.filter((id) => !seen.has(id)).length,
            gaps: all.filter((id) => !seen.has(id)).length,
            duplicates: ids.length - seen.size,
          },
        ];
      }),
    );
    const summary = {
      broker,
      seed: SEED,
      seconds: Number(seconds.toFixed(1)),
      categories: { http, json, websocket },
      storedOnHealthyChannel: lastId,
      serverCrashed: server.crashed(),
      healthz: health.status,
      healthy,
      rssBeforeMb: Math.round(rssBeforeBytes / 1024 / 1024),
      rssAfterMb: Math.round(rssAfterBytes / 1024 / 1024),
    };
    process.stderr.write(`fuzz summary: ${JSON.stringify(summary)}\n`);
    if (process.env.RTBENCH_FUZZ_REPORT) {
      writeFileSync(
        join(process.env.RTBENCH_FUZZ_REPORT, `fuzz-${broker}.json`),
        `${JSON.stringify(summary, null, 2)}\n`,
      );
    }

    expect(http.inputs + json.inputs + websocket.inputs).toBe(3 * INPUTS_PER_CATEGORY);
    expect([...http.findings, ...json.findings, ...websocket.findings]).toEqual([]);
    expect(summary.serverCrashed).toBe(false);
    expect(health.status).toBe(200);
    expect(polled).toEqual(all);
    expect(subscribers.websocket).toEqual(all);
    expect(subscribers.sse).toEqual(all);
    expect(healthyWs.frames.filter((f) => f.type === "gap")).toEqual([]);
    expect(healthySse.events.filter((e) => e.event === "gap")).toEqual([]);
    // Valid fuzz publishes did reach the channel, so the check above watched real traffic.
    expect(storedIds.length).toBeGreaterThan(INPUTS_PER_CATEGORY / 10);
  }, 300_000);
}

describe("fuzz (memory broker)", () => {
  fuzzSuite("memory", () => []);
});

describeRedis("fuzz (redis broker)", (redis) => {
  fuzzSuite("redis", () => ["--broker", "redis", "--broker-url", redis.url]);
});
