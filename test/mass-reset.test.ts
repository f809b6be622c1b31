/**
 * Thousands of connections reset at once while a reference server process
 * shuts down, as when a large run's clients are torn down: 2,500 WebSocket
 * and 2,500 SSE connections, 20 HTTP/2 sessions of 50 SSE streams each, and
 * 300 WebSocket upgrades the instance refused at its connection limit (503)
 * whose clients have not closed yet, all reset (RST) in the same tick as
 * SIGTERM. The instance must exit 0 within its grace time with no unhandled
 * 'error' (a 100k-client run at its admission limit lost four instances to
 * an unhandled ECONNRESET this way).
 */
import { connect as connectH2 } from "node:http2";
import { connect, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { descriptorLimit } from "../reference-server/limits.js";
import { startServerProcess } from "./helpers/server-process.js";

const WEBSOCKETS = 2500;
const SSE = 2500;
const H2_SESSIONS = 20;
const STREAMS_PER_SESSION = 50;
const REFUSED = 300;
const ADMITTED = WEBSOCKETS + SSE + H2_SESSIONS;
/** This process and the server each hold one descriptor per connection, plus some to spare. */
const NEEDED_DESCRIPTORS = ADMITTED + REFUSED + 300;
const BATCH = 250;

const limit = descriptorLimit() ?? 0;
const UPGRADE =
  "HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
if (limit < NEEDED_DESCRIPTORS) {
  process.stderr.write(
    `\nmass-reset test SKIPPED: ulimit -n is ${limit}, it needs ${NEEDED_DESCRIPTORS} (raise it with ulimit -n)\n\n`,
  );
}

/** A raw connection that wrote `request` and has seen the start of its answer (`status`). */
function openRaw(port: number, request: string, status: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // Half-open allowed: a refused client does not close when the server does, it is reset later.
    const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    socket.on("error", reject);
    socket.once("connect", () => socket.write(request));
    socket.once("data", (chunk: Buffer) => {
      if (chunk.toString("latin1").startsWith(status)) resolve(socket);
      else reject(new Error(`expected ${status}, got ${chunk.toString("latin1").slice(0, 80)}`));
    });
  });
}

async function inBatches<T>(count: number, open: (i: number) => Promise<T>): Promise<T[]> {
  const opened: T[] = [];
  for (let start = 0; start < count; start += BATCH) {
    const size = Math.min(BATCH, count - start);
    opened.push(...(await Promise.all(Array.from({ length: size }, (_, i) => open(start + i)))));
  }
  return opened;
}

describe("mass reset at shutdown", () => {
  it.skipIf(limit < NEEDED_DESCRIPTORS)(
    `${ADMITTED + REFUSED} sockets (${H2_SESSIONS * STREAMS_PER_SESSION} HTTP/2 streams, ${REFUSED} refused upgrades) reset as the instance stops: it exits 0`,
    async () => {
      const server = await startServerProcess([
        "--heartbeat-interval-ms",
        "60000",
        "--max-connections",
        String(ADMITTED),
      ]);
      const port = Number(new URL(server.url).port);
      const sockets: Socket[] = [];
      try {
        sockets.push(
          ...(await inBatches(WEBSOCKETS, (i) =>
            openRaw(port, `GET /ws/chat/room-${i % 50} ${UPGRADE}`, "HTTP/1.1 101"),
          )),
        );
        sockets.push(
          ...(await inBatches(SSE, (i) =>
            openRaw(
              port,
              `GET /api/stream/room-${i % 50} HTTP/1.1\r\nHost: x\r\n\r\n`,
              "HTTP/1.1 200",
            ),
          )),
        );
        for (let s = 0; s < H2_SESSIONS; s++) {
          // Its own socket, so the test can reset it (an HTTP/2 session's socket refuses that).
          const socket = connect({ host: "127.0.0.1", port });
          const session = connectH2(server.url, { createConnection: () => socket });
          session.on("error", () => {});
          await Promise.all(
            Array.from({ length: STREAMS_PER_SESSION }, (_, i) => {
              const stream = session.request({ ":path": `/api/stream/room-${i}` });
              stream.on("error", () => {});
              return new Promise((resolve) => stream.once("response", resolve));
            }),
          );
          sockets.push(socket);
        }
        // Beyond the connection limit: refused with 503 and left half-open by their clients.
        sockets.push(
          ...(await inBatches(REFUSED, (i) =>
            openRaw(port, `GET /ws/chat/room-${i % 50} ${UPGRADE}`, "HTTP/1.1 503"),
          )),
        );
        const gauge = await (await fetch(`${server.url}/metrics`)).text();
        expect(gauge).toMatch(/rtbench_connections\{transport="websocket"\} 2500/);
        expect(gauge).toMatch(/rtbench_refused_subscribers_total 300/);

        // SIGTERM, and every client resets in the same tick, while the server closes them.
        const stopped = server.stop();
        for (const socket of sockets) socket.resetAndDestroy();
        await stopped;
        expect(await server.handle.exited).toBe(0);
        expect(server.stderr.join("\n")).not.toMatch(
          /uncaught|Unhandled 'error' event|ECONNRESET/i,
        );
      } finally {
        for (const socket of sockets) socket.destroy();
        if (server.handle.process.exitCode === null) await server.handle.stop("SIGKILL");
      }
    },
    90_000,
  );
});
