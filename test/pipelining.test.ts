/**
 * HTTP/1.1 pipelining against a reference server process: clients that write
 * many poll requests in one packet and never read what comes back. Each
 * connection gets one answer at a time (later requests wait behind it), and
 * one that pipelines more than MAX_WAITING_REQUESTS is closed, so the server's
 * memory does not grow with what such clients ask for and /healthz still
 * answers everyone else.
 */
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_WAITING_REQUESTS } from "../reference-server/pipelining.js";
import { type ServerProcess, startServerProcess } from "./helpers/server-process.js";
import { sleep } from "./helpers/wait.js";
import { publish } from "./server-helpers.js";

const MESSAGES = 200;
const MESSAGE_BYTES = 64 * 1024;
const CONNECTIONS = 40;
/**
 * What the server may grow by while 40 connections hold their pipelined
 * requests: one answer in flight each (up to 256 KB, ~18 MB measured for
 * the 40). Unbounded, each connection's answers pile up in the server: 200
 * of them would be 2 GB for the 40 (/healthz stopped answering), 30 of them
 * grew it by ~100 MB and slowed /healthz to 1.7 s.
 */
const RSS_GROWTH_BOUND_MB = 60;

let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess([
    "--max-body-bytes",
    String(2 * MESSAGE_BYTES),
    "--write-timeout-ms",
    "3000",
  ]);
  const blob = "x".repeat(MESSAGE_BYTES);
  for (let sent = 0; sent < MESSAGES; sent += 10) {
    await Promise.all(Array.from({ length: 10 }, () => publish(server.url, "big", { blob })));
  }
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

/** Opens `count` connections that each write `depth` pipelined polls at once and never read. */
async function pipeliners(count: number, depth: number): Promise<Socket[]> {
  const { port } = new URL(server.url);
  const request = "GET /api/messages?channel=big&since=0 HTTP/1.1\r\nHost: x\r\n\r\n";
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect({ host: "127.0.0.1", port: Number(port) });
          socket.pause();
          socket.on("error", () => {});
          socket.once("connect", () => {
            socket.write(request.repeat(depth));
            resolve(socket);
          });
          socket.once("error", reject);
        }),
    ),
  );
}

/** /healthz several times over ~2 s; the slowest answer's time in ms. */
async function healthzWhileLoaded(): Promise<number> {
  let slowestMs = 0;
  for (let i = 0; i < 8; i++) {
    const startedAt = performance.now();
    const health = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(5000) });
    expect(health.status).toBe(200);
    await health.arrayBuffer();
    slowestMs = Math.max(slowestMs, performance.now() - startedAt);
    await sleep(250);
  }
  return slowestMs;
}

describe("pipelined polls that are never read", () => {
  it.each([
    [MESSAGES, "beyond the bound: the connections are closed"],
    [MAX_WAITING_REQUESTS - 2, "within the bound: answered one at a time"],
  ])("%i per connection (%s): /healthz answers, RSS stays bounded", async (depth) => {
    const rssBeforeMb = (await server.rssBytes()) / 1024 / 1024;
    const sockets = await pipeliners(CONNECTIONS, depth);
    const slowestMs = await healthzWhileLoaded();
    const rssDuringMb = (await server.rssBytes()) / 1024 / 1024;
    process.stderr.write(
      `pipelining ${CONNECTIONS} x ${depth}: rss ${rssBeforeMb.toFixed(0)} -> ${rssDuringMb.toFixed(0)} MB, slowest /healthz ${slowestMs.toFixed(0)} ms\n`,
    );
    for (const socket of sockets) socket.destroy();
    expect(server.crashed()).toBe(false);
    expect(rssDuringMb - rssBeforeMb).toBeLessThan(RSS_GROWTH_BOUND_MB);
  });
});
