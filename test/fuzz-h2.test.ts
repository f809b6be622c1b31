/**
 * Seeded HTTP/2 frame fuzzing of a reference server process (cleartext, prior
 * knowledge, on its one port): each input is hand-built frames written raw on
 * a connection of its own (see helpers/h2-fuzz-inputs.ts for the categories).
 * Meanwhile an SSE subscriber over HTTP/1.1 and one over HTTP/2 watch a
 * channel that gets a message every few milliseconds: nothing may crash the
 * server, and neither subscriber may miss, repeat or skip an id.
 *
 * RTBENCH_H2_FUZZ_INPUTS (inputs per category, default 250) and
 * RTBENCH_H2_FUZZ_SEED (default 25) scale and vary it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HEALTHY_CHANNEL } from "./helpers/fuzz-inputs.js";
import { FRAME, RawH2, SETTINGS_ACK } from "./helpers/h2-frames.js";
import { createH2Fuzzer, H2_CATEGORIES, type H2Input } from "./helpers/h2-fuzz-inputs.js";
import { type ServerProcess, startServerProcess } from "./helpers/server-process.js";
import { sleep } from "./helpers/wait.js";
import { publish, SseReader, until } from "./server-helpers.js";

const INPUTS_PER_CATEGORY = Number(process.env.RTBENCH_H2_FUZZ_INPUTS ?? 250);
const SEED = Number(process.env.RTBENCH_H2_FUZZ_SEED ?? 25);
const CONCURRENCY = 24;
/** How long one input's connection is watched for the server's answer before it is dropped. */
const WATCH_MS = 40;

let server: ServerProcess;
let port: number;

beforeAll(async () => {
  server = await startServerProcess([
    "--history-max-count",
    "100000",
    "--request-timeout-ms",
    "1000",
  ]);
  port = Number(new URL(server.url).port);
});

afterAll(async () => {
  if (server?.crashed() === false) await server.stop();
});

/** Sends one input on a fresh connection; what the server did: GOAWAY code, closed, or still open. */
async function send(input: H2Input): Promise<string> {
  let raw: RawH2;
  try {
    raw = await RawH2.open(port);
  } catch (error) {
    return `connect failed: ${(error as Error).message}`;
  }
  raw.write(SETTINGS_ACK, input.bytes);
  const deadline = performance.now() + WATCH_MS;
  while (!raw.closed && performance.now() < deadline) await sleep(5);
  const goaway = raw.find(FRAME.GOAWAY);
  raw.destroy();
  if (goaway) return `goaway ${goaway.payload.length >= 8 ? goaway.payload.readUInt32BE(4) : "?"}`;
  return raw.closed ? "closed" : "open";
}

describe("HTTP/2 frame fuzz (memory broker)", () => {
  it(`survives ${INPUTS_PER_CATEGORY} inputs per category (seed ${SEED}) with healthy SSE subscribers intact`, async () => {
    const sse = await SseReader.open(`${server.url}/api/stream/${HEALTHY_CHANNEL}`);
    const sseH2 = await SseReader.openH2(`${server.url}/api/stream/${HEALTHY_CHANNEL}`);
    const rssBeforeBytes = await server.rssBytes();
    const fuzzer = createH2Fuzzer(SEED);
    const startedAt = performance.now();

    // The healthy channel's traffic, for as long as the fuzz runs.
    let fuzzing = true;
    let published = 0;
    const publisher = (async () => {
      while (fuzzing && published < 5000) {
        await publish(server.url, HEALTHY_CHANNEL, { n: published });
        published++;
        await sleep(5);
      }
    })();

    const categories: Record<string, { inputs: number; outcomes: Record<string, number> }> = {};
    const jobs = H2_CATEGORIES.flatMap((category) => {
      categories[category] = { inputs: 0, outcomes: {} };
      return Array.from({ length: INPUTS_PER_CATEGORY }, () => ({
        category,
        input: fuzzer[category](),
      }));
    });
    let index = 0;
    const worker = async () => {
      while (index < jobs.length && !server.crashed()) {
        const { category, input } = jobs[index++] as (typeof jobs)[number];
        const outcome = await send(input);
        const report = categories[category] as (typeof categories)[string];
        report.inputs++;
        report.outcomes[outcome] = (report.outcomes[outcome] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    fuzzing = false;
    await publisher;
    const seconds = (performance.now() - startedAt) / 1000;

    const all = Array.from({ length: published }, (_, i) => i + 1);
    for (const [name, reader] of [
      ["sse", sse],
      ["sse-h2", sseH2],
    ] as const) {
      await until(
        reader,
        () => reader.messageIds.length >= published,
        `${published} on ${name}`,
        10_000,
      ).catch(() => {});
    }
    const rssAfterBytes = await server.rssBytes();
    const health = await fetch(`${server.url}/healthz`);
    const healthy = Object.fromEntries(
      (
        [
          ["sse", sse],
          ["sse-h2", sseH2],
        ] as const
      ).map(([name, reader]) => {
        const ids = reader.messageIds;
        const seen = new Set(ids);
        return [
          name,
          {
            received: ids.length,
            gaps: all.filter((id) => !seen.has(id)).length,
            duplicates: ids.length - seen.size,
          },
        ];
      }),
    );
    const summary = {
      seed: SEED,
      seconds: Number(seconds.toFixed(1)),
      categories,
      published,
      serverCrashed: server.crashed(),
      healthz: health.status,
      healthy,
      rssBeforeMb: Math.round(rssBeforeBytes / 1024 / 1024),
      rssAfterMb: Math.round(rssAfterBytes / 1024 / 1024),
    };
    process.stderr.write(`h2 fuzz summary: ${JSON.stringify(summary)}\n`);
    sse.close();
    sseH2.close();

    expect(summary.serverCrashed).toBe(false);
    expect(health.status).toBe(200);
    for (const report of Object.values(categories)) expect(report.inputs).toBe(INPUTS_PER_CATEGORY);
    expect(published).toBeGreaterThan(10);
    expect(sse.messageIds).toEqual(all);
    expect(sseH2.messageIds).toEqual(all);
    expect(sse.ended || sseH2.ended).toBe(false);

    await server.stop();
    expect(await server.handle.exited).toBe(0);
    expect(server.stderr.join("\n")).not.toMatch(/uncaught|Unhandled 'error' event/i);
  }, 120_000);
});
