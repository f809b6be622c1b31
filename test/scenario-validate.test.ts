import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadScenario, parseScenario } from "../src/scenario/load.js";
import { RtbenchError } from "../src/shared/errors.js";
import { packageRoot } from "../src/util/paths.js";

/** The RtbenchError that parsing `text` throws (fails the test if it does not throw one). */
function problemsOf(text: string, file = "case.yaml"): RtbenchError {
  try {
    parseScenario(text, file);
  } catch (error) {
    if (error instanceof RtbenchError) return error;
    throw error;
  }
  throw new Error(`expected ${file} to be invalid:\n${text}`);
}

// [what, text, the detail line's expected start]
const MALFORMED: [string, string, string][] = [
  [
    "wrong type",
    "clients: { count: many }",
    'clients.count: expected a positive integer, found "many"',
  ],
  [
    "negative count",
    "clients: { count: -5 }",
    "clients.count: expected a positive integer, found -5",
  ],
  ["fractional count", "clients: { count: 2.5 }", "clients.count: expected a positive integer"],
  [
    "unknown protocol",
    "protocols: [sse, websockets]",
    'protocols[1]: expected one of short-poll, long-poll, sse, sse-h2, websocket, found "websockets"',
  ],
  ["empty protocol list", "protocols: []", "protocols: expected a non-empty list"],
  [
    "duplicate protocol",
    "protocols: [sse, websocket, sse]",
    'protocols[2]: expected each item once, found "sse" again',
  ],
  [
    "unknown top-level key",
    "durration: 30s",
    "durration: unknown field; did you mean duration? (allowed here: name, description,",
  ],
  [
    "unknown nested key",
    "publish: { speed: 10/s }",
    "publish.speed: unknown field (allowed here: rate, payloadBytes, payload, via, publishers, maxInFlight, ackTimeout)",
  ],
  [
    "unknown key in websocket",
    "websocket: { compress: true }",
    "websocket.compress: unknown field (allowed here: deflate, deflateThreshold, deflateNoContextTakeover, reconnect)",
  ],
  [
    "bad duration unit",
    "duration: 30d",
    'duration: expected a duration like 500ms, 30s or 2m, found "30d"',
  ],
  [
    "bare number duration",
    "duration: 30",
    "duration: expected a duration like 500ms, 30s or 2m, found 30",
  ],
  ["duration of zero", "duration: 0s", 'duration: expected a duration above 0, found "0s"'],
  [
    "bad rate",
    "publish: { rate: 20/sec }",
    'publish.rate: expected a rate like 20/s, 0.5/s or 30/m, found "20/sec"',
  ],
  ["bare number rate", "publish: { rate: 20 }", "publish.rate: expected a rate like 20/s"],
  [
    "bad enum",
    "publish: { via: grpc }",
    'publish.via: expected one of http, websocket, found "grpc"',
  ],
  [
    "instances > 1 with memory",
    "server: { instances: 2, broker: memory }",
    'server.broker: expected a broker shared between instances (redis, redis-sharded, redis-streams, nats) when server.instances is 2 (a memory broker cannot share messages between processes; or routing: sticky, where instances share nothing), found "memory"',
  ],
  [
    "instances > 1 with the default broker",
    "server: { instances: 4 }",
    "server.broker: expected a broker shared between instances (redis, redis-sharded, redis-streams, nats) when server.instances is 4",
  ],
  [
    "too many instances",
    "server: { instances: 17, broker: redis }",
    "server.instances: expected an integer from 1 to 16, found 17",
  ],
  [
    "target and server both",
    "target: http://127.0.0.1:8080\nserver: { instances: 1 }",
    "server: expected no server section when target is set",
  ],
  [
    "payload too small",
    "publish: { payloadBytes: 64 }",
    "publish.payloadBytes: expected an integer >= 128",
  ],
  [
    "payload above the server's limit",
    "server: { maxBodyBytes: 1000 }\npublish: { payloadBytes: 2000 }",
    "publish.payloadBytes: expected at most server.maxBodyBytes (1000), found 2000",
  ],
  [
    "warmup >= duration",
    "duration: 10s\nwarmup: 10s",
    'warmup: expected less than duration (10s), found "10s"',
  ],
  [
    "channels > count",
    "clients: { count: 5, channels: 6 }",
    "clients.channels: expected at most clients.count (5)",
  ],
  [
    "bad channel prefix",
    'clients: { channelPrefix: "room/" }',
    "clients.channelPrefix: expected up to 100 letters",
  ],
  [
    "bad url scheme in target",
    "target: ftp://example.com",
    'target: expected an http:// or https:// URL like http://127.0.0.1:8080, a non-empty list of URLs, a server description (url, protocol, command, ...) or null, found "ftp://example.com"',
  ],
  [
    "bad url in a target list",
    'target: ["http://a:1", "not a url"]',
    'target[1]: expected an http:// or https:// URL like http://127.0.0.1:8080, found "not a url"',
  ],
  [
    "target url with a query",
    "target: http://a:1/?x=1",
    'target: expected an http:// or https:// URL like http://127.0.0.1:8080, a non-empty list of URLs, a server description (url, protocol, command, ...) or null, found "http://a:1/?x=1"',
  ],
  [
    "target url with a bad port",
    "target: [http://a:99999]",
    'target[0]: expected a valid http:// or https:// URL, found "http://a:99999"',
  ],
  ["thresholds not a map", "thresholds: [p99]", 'thresholds: expected a mapping, found ["p99"]'],
  [
    "threshold value not a string",
    'thresholds: { "sse.lost": 0 }',
    'thresholds["sse.lost"]: expected a condition like "< 50ms" or "== 0", found 0',
  ],
  [
    "threshold key not a metric path",
    'thresholds: { "latency": "< 5ms" }',
    "thresholds.latency: expected a metric path like websocket.latency.p99 or *.lost as the key",
  ],
  [
    "tolerance that is not a percentage",
    'tolerances: { timing: "0.2" }',
    "tolerances.timing: expected",
  ],
  [
    "tolerance for an unknown metric",
    'tolerances: { "websocket.latncy.p99": "20%" }',
    'tolerances["websocket.latncy.p99"]: expected timing, rate, a metric (latency.p99) or a full metric name',
  ],
  [
    "a compare: entry that is not a metric",
    "compare: [latency.p98]",
    'compare[0]: expected a metric (latency.p95), a metric on every protocol (*.latency.p95) or a full metric name (websocket.latency.p95), found "latency.p98"',
  ],
  [
    "a compare: entry on an unknown protocol",
    "compare: [websockets.latency.max]",
    'compare[0]: expected a metric (latency.p95), a metric on every protocol (*.latency.p95) or a full metric name (websocket.latency.p95), found "websockets.latency.max"',
  ],
  [
    "presence TTL shorter than the heartbeat",
    "server: { heartbeatInterval: 10s, presenceTtl: 5s }",
    "server.presenceTtl: expected at least server.heartbeatInterval (10s)",
  ],
  [
    "root is a list",
    "- quickstart",
    '(root): expected a mapping of scenario fields, found ["quickstart"]',
  ],
  ["empty file", "", "(root): expected a mapping of scenario fields, found an empty file"],
  [
    "comments only",
    "# nothing yet\n",
    "(root): expected a mapping of scenario fields, found an empty file",
  ],
  [
    "bad YAML syntax",
    "name: x\nprotocols: [sse,\nduration: 5s\n",
    "line 2: expected a closing ] for the list opened here",
  ],
  [
    "duplicate YAML key",
    "duration: 5s\nduration: 6s\n",
    "line 2: expected each field once, found duration again (also on line 1)",
  ],
  [
    "a field indented further than the one above it",
    "clients:\n  count: 10\n   channels: 2\n",
    'line 3: expected "channels:" to line up with "count:" on line 2 (column 3), found column 4',
  ],
  [
    "a field indented less than the one above it",
    "clients:\n  count: 10\n channels: 2\n",
    'line 3: expected "channels:" to line up with "count:" on line 2 (column 3), found column 2',
  ],
  [
    "a missing colon",
    "clients:\n  count: 10\n  rampUp 2s\n  channels: 2\n",
    'line 3: expected "field: value", found "rampUp 2s" (a missing colon?)',
  ],
  ["a tab", "clients:\n\tcount: 10\n", "line 2: expected spaces for indentation, found a tab"],
  [
    "an unclosed quote",
    'name: "quick\nduration: 5s\n',
    'line 1: expected a closing " for the string opened here',
  ],
  [
    "an outdented field",
    "clients:\n  count: 10\nchannels: 2\n",
    "channels: unknown field; did you mean clients.channels? (allowed here:",
  ],
];

describe("malformed scenarios", () => {
  it.each(MALFORMED)("%s", (_what, text, detail) => {
    const error = problemsOf(text);
    expect(error.code).toBe("BAD_INPUT");
    expect(error.message).toMatch(/^case\.yaml is invalid \(\d+ problems?\)$/);
    expect(
      error.details.some((line) => line.startsWith(detail)),
      error.details.join("\n"),
    ).toBe(true);
  });

  it("has more cases than the brief's minimum of 18", () => {
    expect(MALFORMED.length).toBeGreaterThanOrEqual(18);
  });
});

describe("collecting problems", () => {
  it("reports every problem at once, one line each, counted in the message", () => {
    const error = problemsOf(
      [
        "protocols: [sse, websockets]",
        "clients: { count: many, rampUp: 30 }",
        "publish: { speed: 3, payloadBytes: 64 }",
        "server: { instances: 3 }",
        "warmup: 1m",
        "duration: 30s",
        "typo: true",
      ].join("\n"),
    );
    const paths = error.details.map((line) => line.slice(0, line.indexOf(":")));
    expect(paths.sort()).toEqual(
      [
        "protocols[1]",
        "clients.count",
        "clients.rampUp",
        "publish.speed",
        "publish.payloadBytes",
        "server.broker",
        "warmup",
        "typo",
      ].sort(),
    );
    expect(error.message).toBe("case.yaml is invalid (8 problems)");
  });

  it("gives one line for a value that fails several alternatives (anyOf collapsed)", () => {
    const error = problemsOf("warmup: 5\ntarget: 5");
    // Also in the file's order, not the schema's.
    expect(error.details).toEqual([
      "warmup: expected a duration like 500ms, 30s or 2m, found 5",
      "target: expected an http:// or https:// URL like http://127.0.0.1:8080, a non-empty list of URLs, a server description (url, protocol, command, ...) or null, found 5",
    ]);
  });

  it("skips relational checks on fields that already failed, instead of piling up", () => {
    const error = problemsOf("clients: { count: many, channels: 50 }\nduration: 30\nwarmup: 1m");
    expect(error.details).toEqual([
      'clients.count: expected a positive integer, found "many"',
      "duration: expected a duration like 500ms, 30s or 2m, found 30",
    ]);
  });

  it("reports JSON syntax errors with a line and column", () => {
    const error = problemsOf('{\n  "name": "x",\n}\n', "case.json");
    expect(error.message).toBe("case.json is invalid (1 problem)");
    expect(error.details[0]).toMatch(/^line 3, column 1: /);
  });

  it("reports unknown fields in JSON files too", () => {
    const error = problemsOf('{"clients": {"count": 10, "cuont": 5}}', "case.json");
    expect(error.details).toEqual([
      "clients.cuont: unknown field; did you mean clients.count? (allowed here: count, rampUp, channels, channelPrefix, shards, channelSkew, members, maxNeverConnectedShare, churn, network, slow, fallback, fallbackTimeout)",
    ]);
  });
});

describe("defaults and units", () => {
  it("fills every field of an empty mapping with documented defaults", () => {
    const scenario = parseScenario("{}", "scenarios/minimal.yaml");
    expect(scenario).toMatchObject({
      name: "minimal",
      description: "",
      source: { file: "scenarios/minimal.yaml" },
      protocols: ["short-poll", "long-poll", "sse", "websocket"],
      seed: 1,
      server: {
        instances: 1,
        broker: "memory",
        history: { maxCount: 1000, maxAgeMs: 300_000 },
        heartbeatIntervalMs: 30_000,
        presenceTtlMs: 90_000,
        maxBodyBytes: 65_536,
        deliveryDelayMs: 0,
      },
      target: null,
      clients: { count: 100, rampUpMs: 5_000, channels: 10, channelPrefix: "room-", shards: 0 },
      publish: { ratePerSec: 10, payloadBytes: 256, via: "http", publishers: 1 },
      durationMs: 30_000,
      warmupMs: 5_000,
      drainMs: 5_000,
      transports: {
        "short-poll": { settings: { intervalMs: 1_000 } },
        "long-poll": { settings: { timeoutMs: 30_000 } },
        sse: { settings: { client: "lean" } },
        "sse-h2": { settings: { streamsPerConnection: 100 } },
        websocket: { settings: {} },
      },
      generator: { maxEventLoopDelayMs: 50 },
      thresholds: {},
    });
    expect(scenario.source.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("converts units and derives presenceTtl from heartbeatInterval", () => {
    const scenario = parseScenario(
      [
        "server: { heartbeatInterval: 5s, deliveryDelay: 0 }",
        "publish: { rate: 30/m }",
        "duration: 1m30s",
        "warmup: 0",
      ].join("\n"),
      "units.yaml",
    );
    expect(scenario.server.presenceTtlMs).toBe(15_000);
    expect(scenario.server.deliveryDelayMs).toBe(0);
    expect(scenario.publish.ratePerSec).toBe(0.5);
    expect(scenario.durationMs).toBe(90_000);
    expect(scenario.warmupMs).toBe(0);
  });

  it("reads the compare: list as metric selectors", () => {
    const scenario = parseScenario(
      'compare: [latency.p95, "*.latency.max", websocket.connect.p50]',
      "compare.yaml",
    );
    expect(scenario.compare).toEqual([
      { protocol: null, path: "latency.p95" },
      { protocol: null, path: "latency.max" },
      { protocol: "websocket", path: "connect.p50" },
    ]);
  });

  it("reads baseline tolerances as fractions", () => {
    const scenario = parseScenario(
      'tolerances: { timing: "20%", "websocket.latency.p99": "35.5%" }',
      "tolerances.yaml",
    );
    expect(scenario.tolerances).toEqual({ timing: 0.2, "websocket.latency.p99": 0.355 });
  });

  it("takes target URLs without their trailing slash", () => {
    const scenario = parseScenario(
      "target: [http://127.0.0.1:8080/, http://example.com/base/]",
      "target.yaml",
    );
    expect(scenario.target?.urls).toEqual(["http://127.0.0.1:8080", "http://example.com/base"]);
    expect(scenario.target?.protocol).toBe("reference");
  });

  it("takes https:// targets in every form of target, and target.tls with its CA file", () => {
    for (const text of [
      "target: https://example.com",
      "target: [http://127.0.0.1:8080, https://example.com]",
      "target: { url: https://example.com }",
      "target: { urls: [https://example.com] }",
      "target: { url: https://127.0.0.1:8443, command: 'node s.js {port}' }",
    ]) {
      expect(() => parseScenario(text, "tls.yaml"), text).not.toThrow();
    }
    const file = join(import.meta.dirname, "fixtures", "tls", "s.yaml");
    const scenario = parseScenario(
      "target: { url: https://127.0.0.1:8443, tls: { ca: cert.pem, servername: localhost } }",
      file,
    );
    expect(scenario.target?.tls?.ca).toContain("-----BEGIN CERTIFICATE-----");
    expect(scenario.target?.tls).toMatchObject({
      servername: "localhost",
      insecure: false,
      sessionResumption: true,
    });
    // A missing file is named, and a key file is never shown.
    expect(problemsOf("target: { url: https://h, tls: { ca: nope.pem } }").details[0]).toMatch(
      /^target\.tls\.ca: expected a PEM file \(relative to the scenario file\), found no file at .*nope\.pem$/,
    );
    const wrong = problemsOf("server: { tls: { cert: key.pem, key: cert.pem } }", file).details;
    expect(wrong).toEqual([
      expect.stringMatching(
        /^server\.tls\.cert: expected a PEM file with "BEGIN CERTIFICATE", found none in /,
      ),
      expect.stringMatching(
        /^server\.tls\.key: expected a PEM file with "PRIVATE KEY", found none in /,
      ),
    ]);
    expect(wrong.join("\n")).not.toMatch(/MII/);
  });

  it("applies overrides before the relational checks", () => {
    const text = "duration: 1m\nwarmup: 20s";
    const scenario = parseScenario(text, "o.yaml", { protocols: ["sse"], durationMs: 30_000 });
    expect(scenario.protocols).toEqual(["sse"]);
    expect(scenario.durationMs).toBe(30_000);
    expect(() => parseScenario(text, "o.yaml", { durationMs: 10_000 })).toThrow(
      expect.objectContaining({
        details: ['warmup: expected less than duration (10s), found "20s"'],
      }),
    );
  });
});

describe("loadScenario", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "rtbench-scenario-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("validates every committed example in scenarios/", async () => {
    const scenariosDir = join(packageRoot, "scenarios");
    const files = (await readdir(scenariosDir)).filter((name) => /\.(ya?ml|json)$/.test(name));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const name of files) {
      const scenario = await loadScenario(join(scenariosDir, name));
      expect(scenario.name).toBe(name.replace(/\.(ya?ml|json)$/, ""));
    }
  });

  it("hashes the file's bytes, keeps its text and takes the name from the file", async () => {
    const file = join(dir, "hashed.json");
    const text = '{"clients": {"count": 10, "channels": 2}}';
    await writeFile(file, text);
    const scenario = await loadScenario(file);
    expect(scenario.name).toBe("hashed");
    expect(scenario.source).toEqual({
      file,
      sha256: createHash("sha256").update(text).digest("hex"),
      text,
      // What a baseline must share (src/scenario/workload.ts); its own tests check the fields.
      workload: {
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        fields: expect.objectContaining({ "clients.count": 10 }),
      },
    });
  });

  it("says which file is missing", async () => {
    const file = join(dir, "nope.yaml");
    await expect(loadScenario(file)).rejects.toThrow(
      expect.objectContaining({ code: "BAD_INPUT", message: `cannot read ${file}: no such file` }),
    );
  });

  it("refuses an unknown extension", async () => {
    await expect(loadScenario(join(dir, "scenario.txt"))).rejects.toThrow(
      /expected a \.yaml, \.yml or \.json file/,
    );
  });
});
