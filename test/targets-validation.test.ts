import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadScenario, parseScenario } from "../src/scenario/load.js";
import { packageRoot } from "../src/util/paths.js";
import { runRtbench } from "./helpers/cli.js";
import { problemsOf } from "./helpers/scenario-problems.js";

const CUSTOM = `target:
  url: http://127.0.0.1:9000
  protocol: custom
  publish: { method: POST, path: "/publish/{channel}", body: '{"data":{body}}', headers: {x-key: abc} }
  websocket: { path: "/live?topic={channel}", resume: "&after={cursor}" }
  sse: { path: "/events/{channel}" }
  longPoll: { path: "/poll/{channel}?after={cursor}&wait=25" }
  shortPoll: { path: "/poll/{channel}?after={cursor}&wait=0" }
  message: { body: "/data", id: "/seq" }
  poll: { list: "/items", cursor: "/next" }
`;

describe("target descriptions", () => {
  it("reads the issue's custom template exactly as written, offering all four transports", () => {
    const scenario = parseScenario(CUSTOM, "custom.yaml");
    expect(scenario.protocols).toEqual(["short-poll", "long-poll", "sse", "websocket"]);
    expect(scenario.target).toMatchObject({
      urls: ["http://127.0.0.1:9000"],
      protocol: "custom",
      command: null,
      heartbeatIntervalMs: null,
    });
    expect(scenario.target?.wire.publish).toEqual({
      method: "POST",
      path: "/publish/{channel}",
      body: '{"data":{body}}',
      headers: { "content-type": "application/json", "x-key": "abc" },
    });
  });

  it("keeps today's forms: a URL and a list mean the reference protocol", () => {
    const one = parseScenario("target: http://127.0.0.1:8080", "one.yaml");
    expect(one.target).toMatchObject({ protocol: "reference", command: null });
    expect(one.protocols).toEqual(["short-poll", "long-poll", "sse", "websocket"]);
  });

  it("takes publish.via values from the protocol: websocket only where its wire publishes that way", () => {
    const via = "publish: { rate: 1/s, via: websocket }";
    expect(parseScenario(`target: http://127.0.0.1:8080\n${via}`, "ref.yaml").publish.via).toBe(
      "websocket",
    );
    expect(problemsOf(`target: { url: http://127.0.0.1:8090, protocol: nchan }\n${via}`)).toContain(
      'publish.via: expected http for protocol nchan, found "websocket"',
    );
  });

  it("runs the default transports a protocol offers when none are listed", () => {
    const nchan = parseScenario(
      "target: { url: http://127.0.0.1:8090, protocol: nchan }",
      "n.yaml",
    );
    expect(nchan.protocols).toEqual(["long-poll", "sse", "websocket"]);
    const socketio = parseScenario(
      "target: { url: http://127.0.0.1:3000, protocol: socketio }",
      "s.yaml",
    );
    expect(socketio.protocols).toEqual(["long-poll", "websocket"]);
  });

  it("reads pushpin's paths, publish headers and publish API, filling in the example origin's defaults", () => {
    const pushpin = parseScenario(
      `target:
  url: http://127.0.0.1:7999
  protocol: pushpin
  sse: { path: "/events/{channel}" }
  publish: { path: /publish/, headers: { authorization: "Bearer k" } }
  pushpin: { control: "http://127.0.0.1:5561" }`,
      "p.yaml",
    );
    expect(pushpin.protocols).toEqual(["long-poll", "sse", "websocket"]);
    expect(pushpin.target?.wire).toEqual({
      publish: {
        method: "POST",
        path: "/publish/",
        body: "{body}",
        headers: { "content-type": "application/json", authorization: "Bearer k" },
      },
      websocket: { path: "/ws/{channel}" },
      sse: { path: "/events/{channel}" },
      longPoll: { path: "/poll/{channel}" },
      pushpin: { control: "http://127.0.0.1:5561" },
    });
  });

  it("gives command instances consecutive ports from url, or free ports without one", () => {
    const ported = parseScenario(
      'target: { url: "http://127.0.0.1:8090", protocol: nchan, command: "nginx -p {dir}/", instances: 3 }',
      "n.yaml",
    );
    expect(ported.target?.urls).toEqual([
      "http://127.0.0.1:8090",
      "http://127.0.0.1:8091",
      "http://127.0.0.1:8092",
    ]);
    const free = parseScenario('target: { protocol: nchan, command: "nginx -p {dir}/" }', "n.yaml");
    expect(free.target?.urls).toEqual([]);
    expect(free.target?.command).toMatchObject({ basePort: null, instances: 1, health: null });
  });

  it("validates every committed example in scenarios/targets/", async () => {
    const dir = join(packageRoot, "scenarios", "targets");
    const files = (await readdir(dir)).filter((name) => name.endsWith(".yaml"));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const name of files) {
      const scenario = await loadScenario(join(dir, name));
      expect(scenario.target?.command, name).not.toBeNull();
    }
  });
});

describe("wrong target descriptions are refused before anything starts, naming the field", () => {
  it("a transport the protocol does not offer", () => {
    expect(
      problemsOf(
        "target: { url: http://127.0.0.1:8090, protocol: nchan }\nprotocols: [websocket, short-poll]",
      ),
    ).toEqual([
      'protocols[1]: expected a transport that protocol nchan offers (long-poll, sse, websocket), found "short-poll"',
    ]);
  });

  it("an unknown placeholder, a pointer that is not a pointer, a missing list", () => {
    const text = CUSTOM.replace("/live?topic={channel}", "/live?topic={chanel}")
      .replace('body: "/data"', 'body: "data"')
      .replace('  poll: { list: "/items", cursor: "/next" }\n', "");
    expect(problemsOf(text)).toEqual([
      'target.websocket.path: unknown placeholder {chanel}: expected only {channel} or {user}, found "/live?topic={chanel}"',
      'target.message.body: expected a JSON Pointer (RFC 6901) like "/data" or "" for the whole document, found "data"',
      'target.poll: expected {list: <JSON Pointer>} for polling, saying where the list of messages is in a poll answer (e.g. "/items"), found nothing',
    ]);
  });

  it("what protocol pushpin writes itself: the publish body, a resume template, message pointers", () => {
    expect(
      problemsOf(`target:
  url: http://127.0.0.1:7999
  protocol: pushpin
  publish: { path: /publish/, body: "{body}" }
  websocket: { path: "/ws/{channel}", resume: "&after={cursor}" }
  message: { body: /data }`),
    ).toEqual([
      'target.message: not used by protocol pushpin (it reads publish, websocket, sse, longPoll, pushpin), found {"body":"/data"}',
      'target.publish.body: not used by protocol pushpin (its publish items, resume and framing are Pushpin\'s own; only path, headers can be set), found "{body}"',
      'target.websocket.resume: not used by protocol pushpin (its publish items, resume and framing are Pushpin\'s own; only path can be set), found "&after={cursor}"',
    ]);
  });

  it("placeholders in the command, and what only goes with a command", () => {
    expect(
      problemsOf("target: { url: http://127.0.0.1:8090, protocol: nchan, health: /healthz }"),
    ).toEqual([
      'target.health: only with target.command (without it rtbench starts no server), found "/healthz"',
    ]);
    expect(
      problemsOf('target: { protocol: nchan, command: "nginx -c {dir}/n.conf -p {prefix}" }'),
    ).toEqual([
      'target.command: unknown placeholder {prefix}: expected only {port}, {instance}, {dir}, {scenarioDir}, {redisUrl} or {loadNchanModule}, found "nginx -c {dir}/n.conf -p {prefix}"',
    ]);
  });

  it("fields a protocol does not read, and template files that are not there", () => {
    expect(
      problemsOf(
        'target: { protocol: nchan, command: "nginx", files: [no-such.conf], poll: { list: "/items" }, websocket: { path: "/ws", resume: "&x={cursor}" } }',
      ),
    ).toEqual([
      'target.poll: not used by protocol nchan (it reads publish, websocket, sse, longPoll, message), found {"list":"/items"}',
      'target.websocket.resume: not used by protocol nchan (its resume and framing are Nchan\'s own; only path can be set), found "&x={cursor}"',
      `target.files[0]: expected a template file (relative to the scenario file), found no file at ${join(process.cwd(), "no-such.conf")}`,
    ]);
  });

  it("faults a protocol cannot take, and faults against a server rtbench did not start", () => {
    expect(
      problemsOf(
        'target: { protocol: nchan, command: "nginx" }\nfaults: [{ at: 1s, action: kill, instance: 0, restartAfter: 1s }, { at: 2s, action: drop }, { at: 3s, action: stall, instance: 1, for: 1s }]',
      ),
    ).toEqual([
      "faults[1].action: expected a fault protocol nchan can take: Nchan has no route that closes a share of its subscribers' connections (DELETE on a channel also deletes its messages), found drop",
      "faults[2].instance: expected 0 (target.instances is 1) or random, found 1",
    ]);
    expect(
      problemsOf(
        "target: { url: http://127.0.0.1:3000, protocol: socketio }\nfaults: [{ at: 1s, action: kill, instance: 0 }]",
      ),
    ).toEqual([
      "faults: expected no faults when target has no command (rtbench cannot kill, stall or drop a server it did not start), found 1",
    ]);
  });
});

describe("rtbench validate on a wrong template", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "rtbench-targets-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("exits 2 with the field's path, and `run` starts nothing", async () => {
    const file = join(dir, "wrong.yaml");
    // The command would leave a file behind if anything started.
    const wrong = CUSTOM.replace('"/publish/{channel}"', '"/publish/{room}"').replace(
      "  url: http://127.0.0.1:9000\n",
      '  command: "touch {scenarioDir}/started"\n',
    );
    await writeFile(file, wrong);
    const validated = await runRtbench(["validate", file]);
    expect(validated.code).toBe(2);
    expect(validated.stderr).toContain(
      'target.publish.path: unknown placeholder {room}: expected only {channel}, found "/publish/{room}"',
    );
    expect(validated.stderr).not.toMatch(/\n\s+at /);
    const run = await runRtbench(["run", file, "--out", dir]);
    expect(run.code).toBe(2);
    expect(await readdir(dir)).toEqual(["wrong.yaml"]);
  });
});
