import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import WebSocket from "ws";
import type { Publisher } from "../src/clients/publishers.js";
import { createClientContext } from "../src/clients/types.js";
import { runScenario } from "../src/load/run.js";
import { startCommandedServers } from "../src/load/servers/commanded.js";
import type { ServerSet } from "../src/load/servers/servers.js";
import { parseScenario } from "../src/scenario/load.js";
import type { TargetCommand } from "../src/scenario/types.js";
import { targetProtocol } from "../src/targets/registry.js";
import { packageRoot } from "../src/util/paths.js";
import { leftoverProcesses, ownScratchRoot } from "./helpers/leftovers.js";
import { describePushpin } from "./helpers/pushpin.js";
import { expectEverythingDelivered } from "./helpers/targets.js";

/**
 * A real Pushpin with the example GRIP origin in front (launch.js), started
 * by rtbench from the scenario's command: every transport Pushpin offers
 * delivers everything, and each one resumes from a cursor through Pushpin.
 */
/** The example origin's long-poll answer, in the reference wire's shape. */
interface PollAnswer {
  messages: { type: string; id: string; channel: string; body: unknown }[];
  cursor: string;
}

/**
 * One long poll through Pushpin. No retry: the example origin's /healthz
 * holds through Pushpin, so the target is healthy only once Pushpin's
 * handler takes held requests over (before that Pushpin answers 500
 * "Accept service unavailable.", which once failed this test).
 */
async function poll(url: string): Promise<PollAnswer> {
  const answer = await fetch(url);
  expect(answer.status).toBe(200);
  return (await answer.json()) as PollAnswer;
}

const LAUNCH = join(packageRoot, "examples", "targets", "pushpin", "launch.js");

function pushpinScenario(extra: string) {
  return parseScenario(
    `
name: pushpin-test
target:
  protocol: pushpin
  command: "node ${LAUNCH} --port {port} --dir {dir} --keep-alive 5"
  health: /healthz
  heartbeatInterval: 5s
clients: { count: 20, channels: 2, rampUp: 300ms, shards: 1 }
publish: { rate: 20/s }
${extra}
`,
    "pushpin-test.yaml",
  );
}

/** Where this file's runs make their scratch directories (see helpers/leftovers.ts). */
const scratchRoot = ownScratchRoot("rtbench-pushpin-test-");

/** Pushpin's processes (and the launcher) of this file's runs still alive: their sockets live in a run's scratch directory. */
function leftoverPushpin(): string[] {
  return leftoverProcesses(/(pushpin|condure|zurl|launch\.js).*rtbench-target-/, scratchRoot);
}

describePushpin("protocol pushpin against a real Pushpin and the example origin", () => {
  it("delivers everything over long polls, SSE and WebSocket, and samples Pushpin's cost", async () => {
    const result = await runScenario(pushpinScenario("duration: 2s\nwarmup: 500ms\ndrain: 1s"));
    expect(Object.keys(result.protocols)).toEqual(["long-poll", "sse", "websocket"]);
    // CPU: Pushpin's four processes, the origin and the launcher, read from /proc.
    expectEverythingDelivered(result, { clients: 20, perChannel: 10, minPublished: 25 });
    // A held long poll is answered by a publish; one that comes back after
    // several is answered from the origin's history with all of them.
    const polls = result.protocols["long-poll"]?.requestsPerDelivery ?? 0;
    expect(polls).toBeGreaterThan(0);
    expect(polls).toBeLessThan(1.5);
    expect(leftoverPushpin()).toEqual([]);
  }, 90_000);

  describePushpin("resuming from a cursor", () => {
    const scenario = pushpinScenario("duration: 2500ms\nwarmup: 500ms");
    const wire = scenario.target?.wire ?? {};
    let servers: ServerSet;
    let url: string;
    let publisher: Publisher;
    const ids: string[] = [];

    beforeAll(async () => {
      servers = await startCommandedServers({
        command: scenario.target?.command as TargetCommand,
        placeholders: {},
        log: () => {},
      });
      url = servers.urls[0] as string;
      // The leftover check sees this file's Pushpin while it runs (it is not vacuous).
      expect(leftoverPushpin().length).toBeGreaterThan(0);
      publisher = targetProtocol("pushpin").publisher(wire, url, {
        connections: 1,
        context: createClientContext(),
        via: "http",
      });
      for (const seq of [1, 2, 3]) ids.push((await publisher.publish("room", { seq })).id);
    }, 30_000);

    afterAll(async () => {
      await publisher?.close();
      await servers?.stop();
      expect(leftoverPushpin()).toEqual([]);
    });

    it("answers a long poll after a cursor at once from the origin's history, then holds it", async () => {
      const first = await poll(`${url}/poll/room`);
      expect(first).toEqual({ messages: [], cursor: ids[2] });
      const resumed = await poll(`${url}/poll/room?since=${ids[0]}`);
      expect(resumed.cursor).toBe(ids[2]);
      expect(resumed.messages.map((m) => m.body)).toEqual([{ seq: 2 }, { seq: 3 }]);
      // Held by Pushpin until the next publish, which it answers with that message.
      const held = poll(`${url}/poll/room?since=${ids[2]}&timeout=10`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      ids.push((await publisher.publish("room", { seq: 4 })).id);
      const answer = await held;
      expect(answer.messages).toEqual([
        { type: "message", id: ids[3], channel: "room", body: { seq: 4 } },
      ]);
      expect(answer.cursor).toBe(ids[3]);
    });

    it("replays an SSE stream after its Last-Event-ID, then streams on", async () => {
      const abort = new AbortController();
      const response = await fetch(`${url}/stream/room`, {
        headers: { "last-event-id": ids[1] as string },
        signal: abort.signal,
      });
      expect(response.headers.get("content-type")).toBe("text/event-stream");
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      let text = "";
      for (let i = 0; i < 50 && (text.match(/^id: /gm)?.length ?? 0) < 2; i++) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
      }
      abort.abort();
      expect(text.match(/^id: .*$/gm)).toEqual([`id: ${ids[2]}`, `id: ${ids[3]}`]);
      expect(text).toContain('"body":{"seq":3}');
    });

    it("replays a WebSocket after since= in the open answer, then sends what is published", async () => {
      const socket = new WebSocket(`${url.replace("http", "ws")}/ws/room?since=${ids[2]}`);
      const frames: { id: string; body: unknown }[] = [];
      socket.on("message", (data) => frames.push(JSON.parse(data.toString())));
      await new Promise((resolve, reject) => {
        socket.once("open", resolve);
        socket.once("error", reject);
      });
      for (let i = 0; i < 100 && frames.length < 1; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      ids.push((await publisher.publish("room", { seq: 5 })).id);
      for (let i = 0; i < 100 && frames.length < 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      socket.close();
      expect(frames.map((frame) => [frame.id, frame.body])).toEqual([
        [ids[3], { seq: 4 }],
        [ids[4], { seq: 5 }],
      ]);
    });
  });
});
