import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  JITTER_KINDS,
  PRESENCE_TTL_HEARTBEATS,
  RECONNECT_DEFAULTS,
  SCENARIO_DEFAULTS,
} from "../src/scenario/defaults.js";
import { FAULT_ACTIONS } from "../src/scenario/faults.js";
import { parseScenario } from "../src/scenario/load.js";
import {
  deriveResultSchema,
  deriveScenarioSchema,
  RESULT_SCHEMA_PATH,
  readJson,
  SCENARIO_SCHEMA_PATH,
} from "../src/schemas/derive.js";
import {
  METRIC_NAMES_PATH,
  metricNamesPage,
  SCENARIO_REFERENCE_PATH,
} from "../src/schemas/docs.js";
import {
  type Schema,
  scenarioReference,
  undocumentedDefaults,
} from "../src/schemas/scenario-reference.js";
import { BROKER_KINDS } from "../src/shared/brokers.js";
import { transportNames, transports } from "../src/shared/transports.js";
import { DEFAULT_TARGET_PROTOCOL, targetProtocolNames } from "../src/targets/registry.js";
import { PUBLISH_VIA } from "../src/targets/types.js";

describe("the committed JSON schemas", () => {
  // Editors read the files; the code derives the transport, broker and target-protocol parts.
  // When this fails, run `npm run schema` and commit the result.
  it("scenario.schema.json is what the transport, broker and target-protocol rows derive", () => {
    const file = readJson(SCENARIO_SCHEMA_PATH);
    expect(deriveScenarioSchema(file)).toEqual(file);
  });

  it("result.schema.json is what the transport, broker, target-protocol and measure rows derive", () => {
    const file = readJson(RESULT_SCHEMA_PATH);
    expect(deriveResultSchema(file)).toEqual(file);
  });

  it("every transport setting's default is what a scenario without the section gets", () => {
    const scenario = parseScenario("name: defaults\n", "defaults.yaml");
    const schema = readJson(SCENARIO_SCHEMA_PATH) as {
      properties: Record<string, { properties: Record<string, { default: unknown }> }>;
    };
    for (const t of transports()) {
      for (const [key, setting] of Object.entries(t.settings)) {
        const fileDefault = schema.properties[t.section]?.properties[key]?.default;
        expect(fileDefault, `${t.section}.${key}`).toBe(setting.default);
        const normalised = scenario.transports[t.name]?.settings[setting.field];
        const expected =
          setting.kind === "duration" ? durationMs(setting.default) : setting.default;
        expect(normalised, `${t.section}.${key}`).toBe(expected);
      }
    }
  });
});

describe("docs/scenario-reference.md", () => {
  // The page is generated from the committed schema's descriptions. When this
  // fails, run `npm run docs` (or `npm run schema`) and commit the page.
  const schema = readJson(SCENARIO_SCHEMA_PATH) as unknown as Schema;

  it("is what the committed scenario schema generates, byte for byte", () => {
    expect(readFileSync(SCENARIO_REFERENCE_PATH, "utf8")).toBe(scenarioReference(schema));
  });

  it("follows the schema: a changed description changes the page", () => {
    const changed = structuredClone(schema);
    const seed = changed.properties.seed as { description: string };
    seed.description = "A description written by the drift test.";
    const page = scenarioReference(changed);
    expect(page).toContain("A description written by the drift test.");
    expect(page).not.toBe(scenarioReference(schema));
  });

  it("states a default for every field (a value, a Default: sentence, or required)", () => {
    expect(undocumentedDefaults(schema)).toEqual([]);
  });
});

describe("docs/metric-names.md", () => {
  it("is what the metric table generates (run `npm run docs` when this fails)", () => {
    expect(readFileSync(METRIC_NAMES_PATH, "utf8")).toBe(metricNamesPage());
  });
});

function durationMs(text: string): number {
  const match = /^(\d+)(ms|s)$/.exec(text);
  if (!match) throw new Error(`test helper: unexpected duration ${text}`);
  return Number(match[1]) * (match[2] === "s" ? 1000 : 1);
}

describe("scenario defaults and enums: the code and the schema agree", () => {
  type Node = {
    default?: unknown;
    enum?: unknown[];
    properties?: Record<string, Node>;
    $ref?: string;
    $comment?: string;
  };
  const schema = readJson(SCENARIO_SCHEMA_PATH) as Node & { definitions: Record<string, Node> };
  const at = (node: Node, path: string): Node | undefined =>
    path.split(".").reduce<Node | undefined>((n, key) => n?.properties?.[key], node);

  it("every default in SCENARIO_DEFAULTS is the schema's", () => {
    for (const [path, value] of Object.entries(SCENARIO_DEFAULTS)) {
      expect(at(schema, path)?.default, path).toEqual(value);
    }
  });

  it("every scalar default in the schema is in the code (transport sections aside)", () => {
    const sections = new Set(transports().map((t) => t.section));
    const missing: string[] = [];
    const walk = (node: Node, path: string) => {
      for (const [key, child] of Object.entries(node.properties ?? {})) {
        const childPath = path ? `${path}.${key}` : key;
        if (!path && sections.has(key)) continue;
        const d = child.default;
        const scalar = d !== undefined && (typeof d !== "object" || d === null);
        // name defaults to the file name, presenceTtl to three heartbeat intervals, target to none.
        const derived = ["name", "server.presenceTtl", "target"].includes(childPath);
        if (scalar && !derived && !(childPath in SCENARIO_DEFAULTS)) missing.push(childPath);
        walk(child, childPath);
      }
    };
    walk(schema, "");
    expect(missing).toEqual([]);
    const presenceTtl = at(schema, "server.presenceTtl")?.default;
    const heartbeatS = Number.parseInt(SCENARIO_DEFAULTS["server.heartbeatInterval"], 10);
    expect(presenceTtl).toBe(`${PRESENCE_TTL_HEARTBEATS * heartbeatS}s`);
  });

  it("reconnect defaults and the enums of the code are the schema's", () => {
    const reconnect = schema.definitions.reconnect as Node;
    for (const [key, value] of Object.entries(RECONNECT_DEFAULTS)) {
      expect(reconnect.properties?.[key]?.default, `reconnect.${key}`).toEqual(value);
    }
    expect(reconnect.properties?.jitter?.enum).toEqual([...JITTER_KINDS]);
    expect(at(schema, "publish.via")?.enum).toEqual([...PUBLISH_VIA]);
    expect(schema.definitions.protocol?.enum).toEqual(transportNames());
    expect(at(schema, "server.broker")?.enum).toEqual([...BROKER_KINDS]);
    const targetProtocol = schema.definitions.targetServer?.properties?.protocol;
    expect(targetProtocol?.enum).toEqual(targetProtocolNames());
    expect(targetProtocol?.default).toBe(DEFAULT_TARGET_PROTOCOL);
    expect(schema.definitions.fault?.properties?.action?.enum).toEqual([...FAULT_ACTIONS]);
  });
});
