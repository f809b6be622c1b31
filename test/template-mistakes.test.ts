/**
 * A custom target's template that does not fit the server must not read as
 * the server losing everything: when frames arrive but none is a message, the
 * run is INVALID with one line showing the first frame (cut short) and why it
 * was not one. A real server on 127.0.0.1 that names its SSE events `update`.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { referenceEventStream } from "../src/clients/reference-wire.js";
import { FRAME_SAMPLE_BYTES } from "../src/load/fleet/frame-sample.js";
import { runScenario } from "../src/load/run.js";
import type { ProtocolResult } from "../src/metrics/types.js";
import { parseScenario } from "../src/scenario/load.js";

/** `POST /publish/<channel>` fans `{"data": <body>}` out as `event: update` to `GET /sse/<channel>`. */
function startNamedEventServer(): Promise<Server> {
  const streams = new Map<string, Set<ServerResponse>>();
  let seq = 0;
  const server = createServer((req, res) => {
    const [, route, channel = ""] = (req.url ?? "/").split("/");
    if (route === "sse") {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(": connected\n\n");
      const set = streams.get(channel) ?? new Set();
      streams.set(channel, set.add(res));
      req.on("close", () => set.delete(res));
      return;
    }
    if (req.method !== "POST" || route !== "publish") {
      res.writeHead(404).end();
      return;
    }
    let body = "";
    req.setEncoding("utf8").on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      seq++;
      const frame = `id: ${seq}\nevent: update\ndata: {"data":${body}}\n\n`;
      for (const stream of streams.get(channel) ?? []) stream.write(frame);
      res.writeHead(201).end();
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

let server: Server;
let url: string;

beforeAll(async () => {
  server = await startNamedEventServer();
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function runWith(sse: string, body: string): Promise<ProtocolResult> {
  const scenario = parseScenario(
    `
name: named-events
protocols: [sse]
target:
  protocol: custom
  url: ${url}
  publish: { path: "/publish/{channel}" }
  sse: ${sse}
  message: { body: "${body}" }
clients: { count: 4, channels: 1, rampUp: 100ms, shards: 1 }
publish: { rate: 10/s }
duration: 1s
warmup: 200ms
drain: 300ms
`,
    "named-events.yaml",
  );
  const result = await runScenario(scenario);
  return result.protocols.sse as ProtocolResult;
}

describe("a template that does not fit the server", () => {
  it("reads named SSE events with sse.event; without it they are unrecognised and the run INVALID", async () => {
    const fits = await runWith('{ path: "/sse/{channel}", event: update }', "/data");
    expect(fits.status).toBe("measured");
    expect(fits.delivered).toBeGreaterThan(0);
    expect(fits.lost).toBe(0);
    expect(fits.unrecognisedFrames).toBe(0);

    const unnamed = await runWith('{ path: "/sse/{channel}" }', "/data");
    expect(unnamed.status).toBe("invalid");
    expect(unnamed.unrecognisedFrames).toBeGreaterThan(0);
    const [reason] = unnamed.invalidReasons ?? [];
    expect(reason).toMatch(
      /^frames arrived but none was recognised as a message \(\d+ unrecognised\); the first: event: update\\ndata: \{"data":/,
    );
    expect(reason).toMatch(/\(an SSE event whose name is not sse\.event \(message\)\)$/);
  }, 30_000);

  it("a wrong pointer: INVALID with the first frame (cut short) and the pointer that found nothing", async () => {
    const wrong = await runWith('{ path: "/sse/{channel}", event: [update, other] }', "/body");
    expect(wrong.status).toBe("invalid");
    const [reason] = wrong.invalidReasons ?? [];
    const match = /; the first: (.*) \(nothing at message\.body "\/body"\)$/s.exec(reason ?? "");
    expect(match, reason).not.toBeNull();
    const frame = match?.[1] ?? "";
    // A stamped body is longer than the sample: cut at FRAME_SAMPLE_BYTES.
    expect(frame.startsWith('{"data":{')).toBe(true);
    expect(frame.endsWith("...")).toBe(true);
    expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(FRAME_SAMPLE_BYTES + 3);
  }, 30_000);
});

describe("the reference protocol's SSE", () => {
  it("counts events of a name it does not know as unrecognised, with what arrived", () => {
    const seen: [string | undefined, unknown][] = [];
    const sink = {
      message: () => seen.push(["message", null]),
      gap: () => {},
      unrecognised: (what?: string, frame?: unknown) => seen.push([what, frame]),
    };
    referenceEventStream("sse").event("update", '{"data":1}', "", sink);
    expect(seen).toEqual([
      ["SSE event named other than message, gap or presence", 'event: update\ndata: {"data":1}'],
    ]);
  });
});
