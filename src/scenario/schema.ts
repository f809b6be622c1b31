/**
 * Structural validation against schema/scenario.schema.json (the same file
 * editors use), with ajv's errors translated into one readable line per
 * problem: path, what the schema expects there, what was found.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { VARIANT_NAME } from "../metrics/run-keys.js";
import { deriveScenarioSchema, readJson, SCENARIO_SCHEMA_PATH } from "../schemas/derive.js";
import { formatFound, formatPath, type Problem } from "../shared/problem.js";
import { transportNames } from "../shared/transports.js";
import {
  deref,
  fieldPaths,
  pointerSegments,
  type SchemaNode,
  schemaAt,
  valueAt,
} from "./schema-walk.js";
import { suggestField } from "./suggest.js";
import { DURATION_EXPECTED, RATE_EXPECTED } from "./units.js";

export const SCHEMA_PATH = SCENARIO_SCHEMA_PATH;

/** What a value of a named definition looks like, in the words of an error line. */
const EXPECTED_BY_DEFINITION: Record<string, string> = {
  duration: DURATION_EXPECTED,
  rate: RATE_EXPECTED,
  url: "an http:// or https:// URL like http://127.0.0.1:8080",
  targetServer: "a server description (url, protocol, command, ...)",
  channelPrefix: "up to 100 letters, digits, _ . : or -",
  payloadBytes: "an integer >= 128 (the publisher's stamp lives in the body)",
  metricPath: "a metric path like websocket.latency.p99 or *.lost",
  thresholdCondition: 'a condition like "< 50ms" or "== 0"',
};

/** Patterns of plain string fields, in words: a rule the user can follow, not the regex. */
const EXPECTED_BY_PATTERN: Record<string, string> = {
  [VARIANT_NAME.source]:
    "lower-case words with dashes (a-z, 0-9 and -, up to 24 characters, not starting with a dash), like sticky or redis-2",
};

let compiled: { schema: SchemaNode; validate: ValidateFunction; transports: string } | undefined;

/** The schema file with its transport parts derived from the registered transports. */
function validator(): { schema: SchemaNode; validate: ValidateFunction } {
  // Compiled again only when a transport was registered or removed since.
  const registered = transportNames().join(",");
  if (compiled === undefined || compiled.transports !== registered) {
    const schema = deriveScenarioSchema(readJson(SCHEMA_PATH)) as SchemaNode;
    const ajv = new Ajv({ allErrors: true, strict: true });
    compiled = { schema, validate: ajv.compile(schema), transports: registered };
  }
  return compiled;
}

/** A structural problem with the place it names, as segments (`["target", "urls", 0]`). */
export interface SchemaFinding {
  problem: Problem;
  segments: (string | number)[];
}

/** Every structural problem of `data`, one per path, in the order ajv finds them. */
export function schemaProblems(data: unknown): Problem[] {
  return schemaFindings(data).map((finding) => finding.problem);
}

/** schemaProblems with each problem's place as segments, so a caller can cut the value out. */
export function schemaFindings(data: unknown): SchemaFinding[] {
  const { schema, validate } = validator();
  if (validate(data)) return [];
  const errors = validate.errors ?? [];
  const findings = new Map<string, SchemaFinding>();
  const suppressed = alternativesWithDeeperErrors(errors);
  for (const error of errors) {
    const finding = translate(error, data, schema, suppressed);
    if (finding !== null && !findings.has(finding.problem.path)) {
      findings.set(finding.problem.path, finding);
    }
  }
  return [...findings.values()];
}

/**
 * anyOf paths where some branch got further into the value (an error below
 * the path): the user meant that branch, so only its deeper errors are shown,
 * not "expected X or Y" for the whole value.
 */
function alternativesWithDeeperErrors(errors: ErrorObject[]): Set<string> {
  const paths = new Set<string>();
  for (const alt of errors) {
    if (alt.keyword !== "anyOf" && alt.keyword !== "oneOf") continue;
    const below = `${alt.instancePath}/`;
    const deeper = errors.some(
      (e) =>
        e.instancePath.startsWith(below) ||
        (e.keyword === "additionalProperties" && e.instancePath === alt.instancePath),
    );
    if (deeper) {
      paths.add(alt.instancePath);
    }
  }
  return paths;
}

function translate(
  error: ErrorObject,
  data: unknown,
  schema: SchemaNode,
  suppressed: Set<string>,
): SchemaFinding | null {
  const segments = pointerSegments(error.instancePath, data);
  const at = (place: (string | number)[], text: string): SchemaFinding => ({
    problem: { path: formatPath(place), text },
    segments: place,
  });
  const badKey =
    error.keyword === "propertyNames" ? String(error.params.propertyName) : error.propertyName;
  if (badKey !== undefined) {
    const expected = describe(schemaAt(schema, segments)?.propertyNames, schema);
    return at(
      [...segments, badKey],
      `expected ${expected} as the key, found ${formatFound(badKey)}`,
    );
  }
  if (error.keyword === "additionalProperties") {
    // deref: a mapping reached through "$ref" (a list item, a shared definition) lists its own fields.
    const allowed = Object.keys(deref(schemaAt(schema, segments), schema)?.properties ?? {});
    const key = String(error.params.additionalProperty);
    const guess = suggestField(key, segments, allowed, fieldPaths(schema));
    const hint = guess === undefined ? "" : `; did you mean ${guess}?`;
    return at(
      [...segments, key],
      `unknown field${hint} (allowed here: ${allowed.join(", ") || "none"})`,
    );
  }
  if (error.keyword === "uniqueItems") {
    const first = Math.min(Number(error.params.i), Number(error.params.j));
    const again = Math.max(Number(error.params.i), Number(error.params.j));
    const found = formatFound((valueAt(data, segments) as unknown[])[again]);
    return at(
      [...segments, again],
      `expected each item once, found ${found} again (also at ${formatPath([...segments, first])})`,
    );
  }
  if (suppressed.has(error.instancePath)) return null;
  // The line describes the whole schema at the path, not the one keyword that
  // failed, so that type, pattern and anyOf errors for one value read the same.
  const expected =
    segments.length === 0
      ? "a mapping of scenario fields"
      : describe(schemaAt(schema, segments), schema);
  return at(segments, `expected ${expected}, found ${formatFound(valueAt(data, segments))}`);
}

/** What a schema accepts, as the words after "expected". */
function describe(node: SchemaNode | undefined, root: SchemaNode): string {
  if (node === undefined) return "nothing here";
  if (node.$ref !== undefined) {
    const name = node.$ref.slice("#/definitions/".length);
    return EXPECTED_BY_DEFINITION[name] ?? describe(deref(node, root), root);
  }
  if (node.enum !== undefined) return `one of ${node.enum.join(", ")}`;
  if (node.anyOf !== undefined) {
    const options = node.anyOf.map((branch) => describe(branch, root));
    return options.length <= 2
      ? options.join(" or ")
      : `${options.slice(0, -1).join(", ")} or ${options.at(-1)}`;
  }
  switch (node.type) {
    case "integer":
    case "number":
      return describeNumber(node);
    case "string":
      if (node.pattern !== undefined && EXPECTED_BY_PATTERN[node.pattern] !== undefined) {
        return EXPECTED_BY_PATTERN[node.pattern] as string;
      }
      return node.minLength ? "a non-empty string" : "a string";
    case "array": {
      const items = deref(node.items, root);
      const itemsName = node.items?.$ref?.slice("#/definitions/".length);
      const of =
        items?.enum !== undefined
          ? ` of ${items.enum.join(", ")}`
          : itemsName === "url"
            ? " of URLs"
            : "";
      return `${node.minItems ? "a non-empty list" : "a list"}${of}`;
    }
    case "object":
      return node.properties === undefined ? "a mapping" : "a mapping of fields";
    case "null":
      return "null";
    default:
      return "a valid value";
  }
}

function describeNumber(node: SchemaNode): string {
  const noun = node.type === "integer" ? "an integer" : "a number";
  const { minimum, maximum } = node;
  if (minimum !== undefined && maximum !== undefined)
    return `${noun} from ${minimum} to ${maximum}`;
  if (minimum === 1 && node.type === "integer") return "a positive integer";
  if (minimum === 0) return `a non-negative ${node.type}`;
  if (minimum !== undefined) return `${noun} >= ${minimum}`;
  if (maximum !== undefined) return `${noun} <= ${maximum}`;
  return noun;
}
