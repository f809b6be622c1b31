/**
 * rtbench's own memory against a hostile server: real clients in a real
 * fleet (this process plays the shard) against a raw TCP server on
 * 127.0.0.1 that never ends what it sends. Each client must cut the
 * connection at its bound (src/clients/bounds.ts), the break must say why,
 * and this process's memory must stay far below what the server poured.
 */
import type { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  MAX_ANSWER_BYTES,
  MAX_SSE_EVENT_LENGTH,
  MAX_SSE_LINE_LENGTH,
} from "../src/clients/bounds.js";
import { createHttpPublisher } from "../src/clients/publishers.js";
import { createClientContext } from "../src/clients/types.js";
import { Fleet } from "../src/load/fleet.js";
import type { ShardStart } from "../src/load/shard-protocol.js";
import type { ShardReport } from "../src/run-model/shard-report.js";
import type { ProtocolName, TransportSettings } from "../src/shared/transports.js";
import { monoMs } from "../src/util/clock.js";
import {
  type HostileServer,
  pour,
  startHostileServer,
  watchRss,
} from "./helpers/hostile-server.js";
import { waitFor } from "./helpers/wait.js";

const MB = 1024 * 1024;
/** What a hostile answer may cost this process at most: its bound, twice over, plus slack. */
const RSS_SLACK = 96 * MB;

let server: HostileServer | undefined;
let fleet: Fleet | undefined;

afterEach(async () => {
  fleet?.close();
  fleet = undefined;
  await server?.close();
  server = undefined;
});

/** A fleet of `clients` real clients of `protocol` on `url`; reconnects wait a minute (none here). */
function startFleet(
  protocol: ProtocolName,
  settings: TransportSettings,
  url: string,
  clients: number,
): Fleet {
  const now = monoMs();
  const spec: ShardStart = {
    type: "start",
    protocol,
    clients: Array.from({ length: clients }, (_, index) => ({
      index,
      baseUrl: url,
      channel: "c0",
      user: `u${index}`,
    })),
    totalClients: clients,
    rampStartMs: now,
    rampUpMs: 0,
    measureStartMs: now,
    measureEndMs: now + 60_000,
    drainEndMs: now + 61_000,
    settings,
    urls: [url],
    reconnect: {
      initialDelayMs: 60_000,
      maxDelayMs: 60_000,
      multiplier: 1,
      jitter: "none",
      maxRetries: 1,
      resume: true,
      watchdogIntervals: 0,
      honorServerRetry: false,
    },
    heartbeatIntervalMs: 1000,
    seed: 1,
  };
  const started = new Fleet(spec);
  fleet = started;
  void started.rampUp(new AbortController().signal);
  return started;
}

function report(f: Fleet): ShardReport {
  return f.report(0);
}

const SSE_HEAD =
  "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n";
const EMPTY_POLL = '{"messages":[],"cursor":0}';

/** A chunked JSON answer of 64 KB chunks without the last one: it never ends (1 GB at most). */
function endlessChunkedAnswer(socket: Socket, status: string): void {
  socket.write(
    `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`,
  );
  const body = "z".repeat(64 * 1024);
  void pour(socket, Buffer.from(`${body.length.toString(16)}\r\n${body}\r\n`), 1024 * MB);
}

/** A first poll answered as the reference server would, so the client is ready; then `hostile`. */
function pollServer(hostile: (socket: Socket) => void) {
  return startHostileServer((socket, index) => {
    if (index < 2) {
      socket.write(
        `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${EMPTY_POLL.length}\r\n\r\n${EMPTY_POLL}`,
      );
    } else {
      hostile(socket);
    }
  });
}

describe("rtbench's memory against a hostile server", () => {
  it("cuts a 1 GB SSE line at its bound, with the reason on the break", async () => {
    server = await startHostileServer((socket) => {
      socket.write(`${SSE_HEAD}retry: 1000\n\ndata: `);
      // A line of 1 GB, poured until the client hangs up.
      void pour(socket, Buffer.alloc(64 * 1024, "x"), 1024 * MB);
    });
    const rss = watchRss();
    const f = startFleet("sse", { client: "lean" }, server.url, 1);
    await waitFor(() => f.counters.breaks === 1, "the SSE client to break", 20_000);
    const growth = rss.stop();
    const poured = server.bytesWritten;
    const { breakReasons } = report(f);
    process.stderr.write(
      `hostile SSE line: server poured ${(poured / MB).toFixed(0)} MB, RSS grew ${(growth / MB).toFixed(0)} MB\n`,
    );
    expect(breakReasons).toEqual([
      {
        reason: `SSE line longer than ${MAX_SSE_LINE_LENGTH} characters (client bound)`,
        count: 1,
        example: `SSE line longer than ${MAX_SSE_LINE_LENGTH} characters (client bound)`,
      },
    ]);
    // Cut near the bound, far from the gigabyte.
    expect(poured).toBeLessThan(MAX_SSE_LINE_LENGTH + 32 * MB);
    expect(growth).toBeLessThan(2 * MAX_SSE_LINE_LENGTH + RSS_SLACK);
  });

  it("cuts data lines that never end their event, with the reason on the break", async () => {
    server = await startHostileServer((socket) => {
      socket.write(SSE_HEAD);
      // 1 KB data lines, and never the blank line that would end the event.
      void pour(socket, Buffer.from(`data: ${"y".repeat(1017)}\n`), 512 * MB);
    });
    const rss = watchRss();
    const f = startFleet("sse", { client: "lean" }, server.url, 1);
    await waitFor(() => f.counters.breaks === 1, "the SSE client to break", 20_000);
    const growth = rss.stop();
    const reason = report(f).breakReasons[0]?.reason;
    process.stderr.write(
      `hostile SSE event: server poured ${(server.bytesWritten / MB).toFixed(0)} MB, RSS grew ${(growth / MB).toFixed(0)} MB\n`,
    );
    expect(reason).toBe(`SSE event longer than ${MAX_SSE_EVENT_LENGTH} characters (client bound)`);
    expect(server.bytesWritten).toBeLessThan(MAX_SSE_EVENT_LENGTH + 32 * MB);
    expect(growth).toBeLessThan(2 * MAX_SSE_EVENT_LENGTH + RSS_SLACK);
  });

  it("cuts two endless chunked poll answers at the answer bound, with the reason on the breaks", async () => {
    server = await pollServer((socket) => {
      endlessChunkedAnswer(socket, "200 OK");
    });
    const rss = watchRss();
    const f = startFleet("short-poll", { intervalMs: 50 }, server.url, 2);
    await waitFor(() => f.counters.breaks === 2, "both poll clients to break", 20_000);
    const growth = rss.stop();
    const { breakReasons } = report(f);
    process.stderr.write(
      `hostile chunked answer x2: server poured ${(server.bytesWritten / MB).toFixed(0)} MB, RSS grew ${(growth / MB).toFixed(0)} MB\n`,
    );
    expect(breakReasons.map((r) => [r.reason, r.count])).toEqual([
      [`HTTP answer body longer than ${MAX_ANSWER_BYTES} bytes (client bound)`, 2],
    ]);
    expect(server.bytesWritten).toBeLessThan(2 * MAX_ANSWER_BYTES + 64 * MB);
    expect(growth).toBeLessThan(2 * MAX_ANSWER_BYTES + RSS_SLACK);
  });

  it("refuses a content-length beyond the bound before reading the body", async () => {
    server = await pollServer((socket) => {
      socket.write(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1099511627776\r\n\r\n",
      );
      void pour(socket, Buffer.alloc(64 * 1024, "w"), 64 * MB);
    });
    const f = startFleet("short-poll", { intervalMs: 50 }, server.url, 1);
    await waitFor(() => f.counters.breaks === 1, "the poll client to break", 20_000);
    expect(report(f).breakReasons.map((r) => r.reason)).toEqual([
      `HTTP answer body longer than ${MAX_ANSWER_BYTES} bytes (client bound)`,
    ]);
  });

  it("fails a publish whose answer never ends, at the answer bound", async () => {
    server = await startHostileServer((socket) => {
      endlessChunkedAnswer(socket, "201 Created");
    });
    const rss = watchRss();
    const publisher = createHttpPublisher(server.url, {
      connections: 1,
      context: createClientContext(),
    });
    try {
      await expect(publisher.publish("c0", { n: 1 })).rejects.toThrow(/exceeded max size/i);
    } finally {
      await publisher.close();
    }
    const growth = rss.stop();
    expect(server.bytesWritten).toBeLessThan(MAX_ANSWER_BYTES + 64 * MB);
    expect(growth).toBeLessThan(2 * MAX_ANSWER_BYTES + RSS_SLACK);
  });
});
