/**
 * The parts of the two JSON schemas that describe transports are derived from
 * the transport rows (src/shared/transports.ts): the protocol enum and
 * default, one scenario section per transport with its settings, the metric
 * name pattern, and the result's per-protocol entries. The broker enums come
 * from the broker rows (src/shared/brokers.ts) and `target.protocol`'s from
 * the target-protocol registry (src/targets/registry.ts), and each measure's
 * fields of a protocol's result from the measure rows (src/measures/registry.ts).
 * The committed files
 * under schema/ are what editors read; `npm run schema` rewrites them and a
 * test fails when they drift. At run time the scenario validator derives its
 * schema again, so a transport registered by an extension validates too.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NETWORK_PRESETS } from "../clients/network-profile.js";
import { measures } from "../measures/registry.js";
import { BROKER_KINDS, BROKERS } from "../shared/brokers.js";
import {
  defaultTransportNames,
  type TransportDescriptor,
  type TransportSetting,
  transportNames,
  transports,
} from "../shared/transports.js";
import {
  DEFAULT_TARGET_PROTOCOL,
  findTargetProtocol,
  targetProtocolNames,
} from "../targets/registry.js";
import { packageRoot } from "../util/paths.js";

export const SCENARIO_SCHEMA_PATH = join(packageRoot, "schema", "scenario.schema.json");
export const RESULT_SCHEMA_PATH = join(packageRoot, "schema", "result.schema.json");

/** Marks a scenario property generated from a transport row, so a rewrite can find it again. */
const GENERATED = "generated from the transport rows in src/shared/transports.ts";

type Json = Record<string, unknown>;

/** A copy of the scenario schema `base` with every transport-derived part rebuilt. */
export function deriveScenarioSchema(base: Json): Json {
  const schema = structuredClone(base) as Json & {
    properties: Record<string, Json>;
    definitions: Record<string, Json>;
  };
  const names = transportNames();
  const sections = transports().map((t) => t.section);

  const protocols = schema.properties.protocols as Json;
  protocols.default = defaultTransportNames();
  protocols.description = `Transports to run the workload over, one run each, in this order. Default: ${defaultTransportNames().join(", ")}.`;
  const protocol = schema.definitions.protocol as Json;
  protocol.enum = names;
  protocol.description = `One of the transports: ${names.join(", ")}.`;
  const metricPath = schema.definitions.metricPath as Json;
  metricPath.pattern = `^(?:\\*|(?:${names.map(escapeRegExp).join("|")})${VARIANT_SUFFIX})(?:\\.[A-Za-z][A-Za-z0-9]*)+$`;
  const reconnect = schema.properties.reconnect as Json;
  reconnect.description = `How clients reconnect after a connection breaks (exponential backoff), for every protocol; ${listWords(sections)} may override single fields.`;

  // Transport sections go right after `drain`, in table order; stale ones are dropped.
  const properties: Record<string, Json> = {};
  for (const [key, value] of Object.entries(schema.properties)) {
    if (value.$comment === GENERATED || sections.includes(key)) continue;
    properties[key] = value;
    if (key === "drain") {
      for (const t of transports()) properties[t.section] = sectionSchema(t);
    }
  }
  schema.properties = properties;

  const broker = (schema.properties.server as Json & { properties: Record<string, Json> })
    .properties.broker as Json;
  broker.enum = [...BROKER_KINDS];
  broker.description = BROKERS.map((row) => `${row.kind}: ${row.description}.`).join(" ");
  // clients.network's named profiles, from the presets' table.
  const preset = schema.definitions.networkPreset as Json;
  preset.enum = Object.keys(NETWORK_PRESETS);
  const targetServer = schema.definitions.targetServer as Json & {
    properties: Record<string, Json>;
  };
  const targetProtocol = targetServer.properties.protocol as Json;
  targetProtocol.enum = targetProtocolNames();
  targetProtocol.default = DEFAULT_TARGET_PROTOCOL;
  targetProtocol.description = `What the server speaks, which decides the transports it offers and the fields of target it reads. ${targetProtocolNames()
    .map((name) => `${name}: ${findTargetProtocol(name)?.description}`)
    .join(" ")}`;
  return schema;
}

/** A copy of the result schema `base` with one `protocols` entry per transport. */
export function deriveResultSchema(base: Json): Json {
  const schema = structuredClone(base) as Json & { properties: Record<string, Json> };
  const protocols = schema.properties.protocols as Json;
  protocols.properties = Object.fromEntries(
    transportNames().map((name) => [name, { $ref: "#/definitions/protocol" }]),
  );
  // A scenario with variants keys its runs `protocol@variant`.
  protocols.patternProperties = { [runKeyPattern()]: { $ref: "#/definitions/protocol" } };
  // The gate's comparison rows name their protocol (run key).
  const row = findComparisonRow(schema);
  if (row) row.protocol = { type: "string", pattern: runKeyPattern() };
  // Broker kinds from the broker rows: a run's setup also says `external` (a target).
  const setup = (schema.properties.setup as Json | undefined)?.properties as
    | Record<string, Json>
    | undefined;
  if (setup?.broker) setup.broker.enum = [...BROKER_KINDS, "external"];
  if (setup?.targetProtocol) {
    setup.targetProtocol.enum = targetProtocolNames();
    setup.targetProtocol.description = `The target's protocol (${targetProtocolNames().join(", ")}); absent without a target`;
  }
  const definitions = schema.definitions as Record<string, Json> | undefined;
  const settings = definitions?.serverSettings?.properties as Record<string, Json> | undefined;
  if (settings?.broker) settings.broker.enum = [...BROKER_KINDS];
  const protocol = definitions?.protocol?.properties as Record<string, Json> | undefined;
  if (protocol) deriveMeasureProperties(protocol);
  return schema;
}

/** Marks a result property generated from a measure row, so a rewrite can find it again. */
const MEASURE_GENERATED = "generated from the measure rows in src/measures/registry.ts";

/**
 * Each registered measure's fields of a protocol's result, from its own
 * schema part: rewritten where they stand (a new one goes last), and those
 * of a measure no longer registered dropped.
 */
function deriveMeasureProperties(properties: Record<string, Json>): void {
  const parts = new Map(measures().flatMap((m) => Object.entries(m.schema)));
  for (const [key, value] of Object.entries(properties)) {
    if (value.$comment === MEASURE_GENERATED && !parts.has(key)) delete properties[key];
  }
  for (const [key, part] of parts) properties[key] = { $comment: MEASURE_GENERATED, ...part };
}

function sectionSchema(t: TransportDescriptor): Json {
  const properties: Record<string, Json> = {};
  for (const [key, setting] of Object.entries(t.settings)) properties[key] = settingSchema(setting);
  properties.reconnect = {
    description:
      "Overrides of the top-level reconnect policy for this protocol, field by field. Default: the top-level reconnect policy as it is.",
    $ref: "#/definitions/reconnect",
  };
  return {
    $comment: GENERATED,
    description: `Options of the ${t.name} run. ${t.description}`,
    type: "object",
    additionalProperties: false,
    default: {},
    properties,
  };
}

function settingSchema(setting: TransportSetting): Json {
  switch (setting.kind) {
    case "duration":
      return {
        description: setting.description,
        $ref: "#/definitions/duration",
        default: setting.default,
      };
    case "integer":
      return {
        description: setting.description,
        type: "integer",
        minimum: setting.minimum,
        maximum: setting.maximum,
        default: setting.default,
      };
    case "choice":
      return {
        description: setting.description,
        type: "string",
        enum: [...setting.choices],
        default: setting.default,
      };
  }
}

/** `gate.comparison.rows.items.properties` of the result schema, if the schema has it. */
function findComparisonRow(schema: Json): Json | undefined {
  let node: unknown = schema;
  for (const key of ["properties", "gate", "properties", "comparison", "properties", "rows"]) {
    node = (node as Json | undefined)?.[key];
  }
  const items = (node as Json | undefined)?.items as Json | undefined;
  return items?.properties as Json | undefined;
}

/** `@variant`, optional: variant names as metrics/run-keys.ts allows them. */
const VARIANT_SUFFIX = "(?:@[a-z0-9][a-z0-9-]{0,23})?";

function runKeyPattern(): string {
  return `^(?:${transportNames().map(escapeRegExp).join("|")})${VARIANT_SUFFIX}$`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function listWords(words: readonly string[]): string {
  return words.length <= 1
    ? words.join("")
    : `${words.slice(0, -1).join(", ")} and ${words.at(-1)}`;
}

export function readJson(path: string): Json {
  return JSON.parse(readFileSync(path, "utf8")) as Json;
}

/** Rewrites both schema files from the transport rows (`npm run schema`). */
export function writeSchemas(): void {
  for (const [path, derive] of [
    [SCENARIO_SCHEMA_PATH, deriveScenarioSchema],
    [RESULT_SCHEMA_PATH, deriveResultSchema],
  ] as const) {
    writeFileSync(path, `${JSON.stringify(derive(readJson(path)), null, 2)}\n`);
  }
}
