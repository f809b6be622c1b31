/**
 * Every field of the scenario schema (walked from the schema itself, target
 * templates included) given a value of every JSON type: the loader must
 * answer with a bad-input problem that names the field (or the section the
 * wrong value replaced, or a field inside it), never an internal error. A
 * value the field's own schema accepts (a number where number-or-string is
 * allowed) is skipped by asking the schema, not a hand list; it must still
 * load or fail as bad input.
 */
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parseScenario } from "../src/scenario/load.js";
import { deriveScenarioSchema, readJson, SCENARIO_SCHEMA_PATH } from "../src/schemas/derive.js";
import { RtbenchError } from "../src/shared/errors.js";
import { formatPath } from "../src/shared/problem.js";
import { runRtbench } from "./helpers/cli.js";

interface SchemaNode {
  $ref?: string;
  anyOf?: SchemaNode[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
}

type Segment = string | number;
type Doc = Record<string, unknown>;

interface Field {
  segments: Segment[];
  /** JSON Pointer (with #) of the field's schema inside the scenario schema. */
  pointer: string;
}

const WRONG_VALUES: readonly unknown[] = ["text", 5, true, [1], { a: 1 }, null];

/** A workload with a list item and a keyed entry wherever the schema has lists and maps. */
const REFERENCE_BASE: Doc = {
  protocols: ["websocket", "sse"],
  server: { instances: 2, broker: "redis" },
  variants: [{ name: "one", server: { instances: 1 } }],
  faults: [{ at: "2s", action: "kill", instance: 0, restartAfter: "1s" }],
  thresholds: { "websocket.lost": "== 0" },
  tolerances: { timing: "50%" },
  compare: ["websocket.latency.p99"],
};

/** A custom target with every template filled in, so each template field is read. */
const CUSTOM_BASE: Doc = {
  protocols: ["websocket", "sse", "long-poll", "short-poll"],
  target: {
    protocol: "custom",
    url: "http://127.0.0.1:9000",
    command: "node server.js --port {port}",
    health: "/healthz",
    heartbeatInterval: "5s",
    publish: {
      method: "POST",
      path: "/publish/{channel}",
      body: "{body}",
      headers: { "x-api-key": "key" },
    },
    websocket: { path: "/ws/{channel}", resume: "?after={cursor}", subscribe: "{}" },
    sse: { path: "/sse/{channel}" },
    longPoll: { path: "/lp/{channel}?after={cursor}" },
    shortPoll: { path: "/sp/{channel}?after={cursor}" },
    message: { body: "/data", id: "/id" },
    poll: { list: "/items", cursor: "/next" },
  },
};

const SOCKETIO_BASE: Doc = {
  protocols: ["websocket"],
  target: {
    protocol: "socketio",
    url: "http://127.0.0.1:9000",
    socketio: { query: { channel: "{channel}" } },
    message: { body: "" },
  },
};

const root = deriveScenarioSchema(readJson(SCENARIO_SCHEMA_PATH)) as SchemaNode;
const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addSchema(root as object, "scenario");

/** Whether the field's own schema accepts `value`. */
function fieldAccepts(field: Field, value: unknown): boolean {
  const check = ajv.getSchema(`scenario${field.pointer}`);
  if (check === undefined) throw new Error(`no schema at ${field.pointer}`);
  return check(value) as boolean;
}

/** Every field path of the schema: through mappings, keyed maps, list items and alternatives. */
function schemaFields(): Field[] {
  const fields = new Map<string, Field>();
  const walk = (node: SchemaNode, pointer: string, segments: Segment[], refs: string[]) => {
    let here = node;
    let at = pointer;
    if (node.$ref !== undefined) {
      if (refs.includes(node.$ref)) return;
      refs = [...refs, node.$ref];
      at = node.$ref;
      here = resolve(node.$ref);
    }
    const add = (child: SchemaNode, childPointer: string, segment: Segment) => {
      const path = [...segments, segment];
      const key = formatPath(path);
      if (!fields.has(key)) fields.set(key, { segments: path, pointer: childPointer });
      walk(child, childPointer, path, refs);
    };
    for (const [name, child] of Object.entries(here.properties ?? {})) {
      add(child, `${at}/properties/${name}`, name);
    }
    if (typeof here.additionalProperties === "object") {
      add(here.additionalProperties, `${at}/additionalProperties`, keyIn(segments));
    }
    if (here.items !== undefined) add(here.items, `${at}/items`, 0);
    here.anyOf?.forEach((branch, i) => {
      walk(branch, `${at}/anyOf/${i}`, segments, refs);
    });
  };
  walk(root, "#", [], []);
  return [...fields.values()];
}

function resolve(ref: string): SchemaNode {
  let node: unknown = root;
  for (const key of ref.slice(2).split("/")) node = (node as Doc)[key];
  return node as SchemaNode;
}

/** A key the base documents already have in this keyed map, so the entry is replaced. */
function keyIn(segments: Segment[]): string {
  for (const base of [REFERENCE_BASE, CUSTOM_BASE, SOCKETIO_BASE]) {
    const map = valueAt(base, segments);
    if (isMapping(map) && Object.keys(map).length > 0) return Object.keys(map)[0] as string;
  }
  return "x";
}

function valueAt(doc: unknown, segments: Segment[]): unknown {
  let node = doc;
  for (const segment of segments) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}

/** A copy of `base` with `value` at `segments`, making the mappings and lists on the way. */
function withValue(base: Doc, segments: Segment[], value: unknown): Doc {
  const doc = structuredClone(base);
  let node: Record<string | number, unknown> = doc;
  segments.forEach((segment, i) => {
    if (i === segments.length - 1) {
      node[segment] = value;
      return;
    }
    const wantList = typeof segments[i + 1] === "number";
    const next = node[segment];
    if (wantList ? !Array.isArray(next) : !isMapping(next)) node[segment] = wantList ? [] : {};
    node = node[segment] as Record<string | number, unknown>;
  });
  return doc;
}

function isMapping(value: unknown): value is Doc {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function basesFor(field: Field): Doc[] {
  const [top, second] = field.segments;
  if (top === "target") return [second === "socketio" ? SOCKETIO_BASE : CUSTOM_BASE];
  return [REFERENCE_BASE, CUSTOM_BASE];
}

/** The path of each problem line (`clients.count: expected ...` -> `clients.count`). */
function problemPaths(error: RtbenchError): string[] {
  return (error.details ?? []).map((line) => line.slice(0, line.indexOf(": ")));
}

/** The field, a section above it (not the root) or a field inside it. */
function namesField(paths: string[], segments: Segment[]): boolean {
  const own = formatPath(segments);
  const above = segments.slice(1, -1).map((_, i) => formatPath(segments.slice(0, i + 1)));
  return paths.some(
    (path) =>
      path === own ||
      path.startsWith(`${own}.`) ||
      path.startsWith(`${own}[`) ||
      above.includes(path),
  );
}

/** "loaded", the loader's own error, or what a crash threw (exit 3 from the CLI). */
function outcome(doc: Doc): RtbenchError | "loaded" {
  try {
    parseScenario(JSON.stringify(doc), "fuzz.json");
    return "loaded";
  } catch (error) {
    if (error instanceof RtbenchError) return error;
    return new RtbenchError("RUN_FAILED", `internal error: ${String(error)}`);
  }
}

describe("wrong types in every scenario field", () => {
  const fields = schemaFields();

  it("walks the whole schema, target templates included", () => {
    const paths = fields.map((field) => formatPath(field.segments));
    for (const path of [
      "protocols",
      "clients.count",
      "faults[0].at",
      "thresholds",
      'target.publish.headers["x-api-key"]',
      "target.websocket.subscribe",
      "target.message.body",
      "target.socketio.query.channel",
      "variants[0].server.broker",
    ]) {
      expect(paths).toContain(path);
    }
    expect(fields.length).toBeGreaterThan(150);
  });

  it("the bases load as they are (every wrong value below is the only problem)", () => {
    for (const base of [REFERENCE_BASE, CUSTOM_BASE, SOCKETIO_BASE]) {
      const found = outcome(base);
      expect(found === "loaded" ? [] : found.details).toEqual([]);
    }
  });

  it("every field x {string, number, boolean, list, mapping, null}: bad input naming the field", () => {
    const misses: string[] = [];
    let checked = 0;
    for (const field of fields) {
      for (const value of WRONG_VALUES) {
        const accepted = fieldAccepts(field, value);
        for (const base of basesFor(field)) {
          const found = outcome(withValue(base, field.segments, value));
          const where = `${formatPath(field.segments)} = ${JSON.stringify(value)}`;
          if (found !== "loaded" && found.code !== "BAD_INPUT") {
            misses.push(`${where}: ${found.code} ${found.message}`);
          } else if (!accepted) {
            checked++;
            if (found === "loaded") misses.push(`${where}: loaded`);
            else if (!namesField(problemPaths(found), field.segments)) {
              misses.push(`${where}: ${(found.details ?? []).join(" | ")}`);
            }
          }
        }
      }
    }
    expect(misses).toEqual([]);
    expect(checked).toBeGreaterThan(500);
  });
});

describe("rtbench validate on wrong types", () => {
  it.each([
    ["protocols: websocket\n", "protocols: expected a non-empty list of short-poll, long-poll"],
    [
      "target:\n  protocol: custom\n  url: http://127.0.0.1:9000\n  publish:\n    path: /p\n    headers: {x-api-key: 12345}\n  websocket: {path: /ws}\n  message: {body: /data}\n",
      'target.publish.headers["x-api-key"]: expected a string, found 12345',
    ],
  ])("exits 2 naming the field: %s", async (text, line) => {
    const { mkdtemp, rm, writeFile } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = await mkdtemp(join(tmpdir(), "rtbench-type-"));
    try {
      const file = join(dir, "wrong.yaml");
      await writeFile(file, text);
      const { code, stderr } = await runRtbench(["validate", file]);
      expect(stderr).toContain(line);
      expect(stderr).not.toMatch(/internal error|at .*\.js:\d+/);
      expect(code).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
