import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runScenario } from "../src/load/run.js";
import type { Measure } from "../src/measures/measure.js";
import { findMetric, getMetric } from "../src/measures/names.js";
import { measures, registerMeasure, unregisterMeasure } from "../src/measures/registry.js";
import type { RunResult } from "../src/metrics/types.js";
import { renderHtml } from "../src/report/html.js";
import { renderMarkdown } from "../src/report/markdown.js";
import { renderTable } from "../src/report/table.js";
import { parseScenario } from "../src/scenario/load.js";
import { deriveResultSchema, RESULT_SCHEMA_PATH, readJson } from "../src/schemas/derive.js";
// @ts-expect-error: plain JavaScript on purpose (the shards import it as it is), no types.
import { measure as toyMeasure } from "./fixtures/measures/toy-measure.mjs";

/**
 * A measure added through the registry alone: the toy (a shard-side count
 * and timing, a parent-side probe) is registered by this test and nothing
 * else in rtbench is edited, yet a real run carries its figures from the
 * shards (two processes, merged) and the probe into the result, and its
 * names, schema part and rows appear wherever the built-in ones do.
 */
const TOY_MODULE = new URL("./fixtures/measures/toy-measure.mjs", import.meta.url).href;
const CLIENTS = 8;

interface ToyFragment {
  toyReadies: number;
  toyTcp: { count: number; p99: number };
  toyProbe: { seconds: number; windowMs: number | null } | null;
}

const toy = toyMeasure as Measure<ToyFragment>;
let result: RunResult;

beforeAll(async () => {
  registerMeasure(toy, TOY_MODULE);
  result = await runScenario(
    parseScenario(
      `
name: toy-measure
protocols: [websocket]
clients: { count: ${CLIENTS}, channels: 2, rampUp: 200ms, shards: 2 }
publish: { rate: 10/s, payloadBytes: 200 }
duration: 2s
warmup: 500ms
drain: 500ms
`,
      "toy-measure.yaml",
    ),
  );
}, 60_000);

afterAll(() => unregisterMeasure("toy"));

const toyOf = (r: RunResult) => r.protocols.websocket as unknown as ToyFragment;

describe("a measure registered through the registry alone", () => {
  it("records in the shards and probes in the parent, into the result", () => {
    expect(result.error).toBeUndefined();
    expect(result.protocols.websocket?.connected).toBe(CLIENTS);
    const fragment = toyOf(result);
    // Every client became ready once (no breaks), whichever of the two shards ran it.
    expect(result.protocols.websocket?.breaks).toBe(0);
    expect(fragment.toyReadies).toBe(CLIENTS);
    // One TCP connect per WebSocket connection, merged as one histogram.
    expect(fragment.toyTcp.count).toBe(CLIENTS);
    // The probe saw both window edges and was called once a second (a 3 s run: 2 s + drain).
    expect(fragment.toyProbe?.windowMs).toBeGreaterThan(0);
    expect(fragment.toyProbe?.seconds).toBeGreaterThanOrEqual(1);
  });

  it("has metric names that thresholds and compare read", () => {
    expect(findMetric("toyReadies")?.description).toBe("toy: connections that became ready");
    expect(getMetric(result, "websocket.toyReadies")).toBe(CLIENTS);
    expect(getMetric(result, "websocket.toyTcp.p99")).toBeGreaterThan(0);
  });

  it("is in the result schema, which the result meets", () => {
    const schema = deriveResultSchema(readJson(RESULT_SCHEMA_PATH));
    const protocol = (schema.definitions as Record<string, { properties: Record<string, object> }>)
      .protocol;
    expect(protocol?.properties.toyReadies).toMatchObject(toy.schema.toyReadies as object);
    const validate = new Ajv({ strict: false }).compile(schema);
    expect(validate(JSON.parse(JSON.stringify(result))), JSON.stringify(validate.errors)).toBe(
      true,
    );
    // The part is the toy's own: a count that is not an integer breaks it.
    const wrong = structuredClone(result);
    (wrong.protocols.websocket as unknown as Record<string, unknown>).toyReadies = 1.5;
    expect(validate(wrong)).toBe(false);
  });

  it("shows its rows in the table, the Markdown and the HTML, after the row it names", () => {
    const table = renderTable(result);
    const lines = table.split("\n");
    const at = (label: string) => lines.findIndex((l) => l.trimStart().startsWith(label));
    expect(at("toy readies")).toBe(at("connect p99 ms") + 1);
    expect(lines[at("toy readies")]).toContain(String(CLIENTS));
    expect(at("toy probe seconds")).toBe(at("toy readies") + 1);
    expect(renderMarkdown(result)).toMatch(/\| toy readies +\| 8 /);
    expect(renderHtml(result)).toContain("toy readies");
  });

  it("leaves nothing behind when unregistered", () => {
    unregisterMeasure("toy");
    try {
      expect(measures().some((m) => m.name === "toy")).toBe(false);
      expect(findMetric("toyReadies")).toBeUndefined();
      expect(renderTable(result)).not.toContain("toy readies");
      const schema = deriveResultSchema(readJson(RESULT_SCHEMA_PATH)) as {
        definitions: { protocol: { properties: Record<string, unknown> } };
      };
      expect(schema.definitions.protocol.properties.toyReadies).toBeUndefined();
    } finally {
      registerMeasure(toy, TOY_MODULE);
    }
  });
});

describe("registerMeasure refuses", () => {
  const base = { description: "a test", result: () => ({}), metrics: [] };

  it("a second measure of one name, or one whose result field another measure has", () => {
    expect(() => registerMeasure({ ...base, name: "tls-connect", schema: {} })).toThrow(
      /already registered/,
    );
    expect(() =>
      registerMeasure({ ...base, name: "tls-again", schema: { tlsHandshake: {} } }),
    ).toThrow(/result field tlsHandshake is already another measure's/);
  });

  it("a measure with a shard side but no module the shards can import", () => {
    const shard = { counts: [], timings: [], handlers: () => ({}) };
    expect(() => registerMeasure({ ...base, name: "no-module", schema: {}, shard })).toThrow(
      /register it with the URL of its module/,
    );
    expect(measures().some((m) => m.name === "no-module")).toBe(false);
  });
});
