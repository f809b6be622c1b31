/**
 * docs/scenario-reference.md from the scenario schema. Each top-level field
 * gets a section with a table of itself and every field below it (dotted
 * paths, `[]` for list items). A definition with fields of its own (the
 * reconnect policy, a fault, a target server) is expanded in the section of
 * the top-level field that uses it directly; other uses link there.
 */
import { stringify } from "yaml";
import { headingSlug, tableCell } from "./markdown.js";

interface Node {
  description?: string;
  type?: string | string[];
  $ref?: string;
  $comment?: string;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  examples?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, Node>;
  required?: string[];
  items?: Node;
  anyOf?: Node[];
  additionalProperties?: boolean | Node;
}

export interface Schema extends Node {
  title?: string;
  properties: Record<string, Node>;
  definitions: Record<string, Node>;
}

/** Definitions written as a value kind (a word linking to "Values"), not expanded. */
const VALUE_KINDS: Record<string, string> = {
  duration: "duration",
  rate: "rate",
  url: "URL",
  protocol: "transport",
  channelPrefix: "channel prefix",
  payloadBytes: "byte count",
  metricPath: "metric name",
  thresholdCondition: "condition",
};

interface Row {
  path: string;
  type: string;
  default: string;
  meaning: string;
}

/** The page for `schema` (the committed scenario schema). */
export function scenarioReference(schema: Schema): string {
  const home = definitionHomes(schema);
  const out: string[] = [
    "<!-- Generated from schema/scenario.schema.json by `npm run docs` (src/schemas/docs.ts): edit the schema's descriptions, not this page. -->",
    "",
    "# Scenario reference",
    "",
    `${schema.description ?? ""}`,
    "",
    "A scenario is a YAML or JSON file. Unknown fields are errors, reported all at",
    "once with the place to fix (`rtbench validate FILE`). Put this first line in a",
    "YAML scenario and editors complete and check every field below as you type:",
    "",
    "```yaml",
    "# yaml-language-server: $schema=../schema/scenario.schema.json",
    "```",
    "",
    "(in your own project: `./node_modules/rtbench/schema/scenario.schema.json`,",
    "which `rtbench init` writes). Examples: [`scenarios/`](../scenarios/); what",
    "each field does to a run: [getting started](getting-started.md).",
    "",
    "## Contents",
    "",
    ...Object.keys(schema.properties).map((key) => `- [\`${key}\`](#${headingSlug(key)})`),
    "- [Values](#values)",
    "",
  ];
  for (const [key, node] of Object.entries(schema.properties)) {
    out.push(`## \`${key}\``, "");
    if (node.description) out.push(withoutDefault(node.description), "");
    out.push("| field | type | default | meaning |", "| --- | --- | --- | --- |");
    for (const row of rows(schema, key, node, false, home, key)) {
      out.push(
        `| \`${row.path}\` | ${tableCell(row.type)} | ${tableCell(row.default)} | ${tableCell(row.meaning)} |`,
      );
    }
    out.push("");
    for (const example of node.examples ?? []) {
      out.push("Example:", "", "```yaml", stringify({ [key]: example }).trimEnd(), "```", "");
    }
  }
  out.push("## Values", "", "| kind | written as |", "| --- | --- |");
  for (const [name, label] of Object.entries(VALUE_KINDS)) {
    const description = schema.definitions[name]?.description;
    if (description) out.push(`| ${label} | ${tableCell(description)} |`);
  }
  out.push("");
  return out.join("\n");
}

/** Fields whose default the page cannot state: the docs promise one for every field. */
export function undocumentedDefaults(schema: Schema): string[] {
  const home = definitionHomes(schema);
  const missing: string[] = [];
  for (const [key, node] of Object.entries(schema.properties)) {
    for (const row of rows(schema, key, node, false, home, key)) {
      if (row.default === "") missing.push(row.path);
    }
  }
  return missing;
}

/** Which top-level field's section expands each definition that has fields. */
function definitionHomes(schema: Schema): Map<string, string> {
  const home = new Map<string, string>();
  for (const [key, node] of Object.entries(schema.properties)) {
    for (const candidate of [node, node.items, ...(node.anyOf ?? [])]) {
      const name = refName(candidate?.$ref);
      if (name && schema.definitions[name]?.properties && !home.has(name)) home.set(name, key);
    }
  }
  return home;
}

function rows(
  schema: Schema,
  path: string,
  node: Node,
  required: boolean,
  home: Map<string, string>,
  section: string,
): Row[] {
  // A section's own description stands above its table.
  const meaning = path === section ? "" : (node.description ?? describedBy(schema, node) ?? "");
  const own: Row = {
    path,
    type: typeOf(schema, node, home, section),
    default: defaultOf(node, required),
    meaning: withoutDefault(meaning),
  };
  const out: Row[] = [own];
  const expand = (child: Node | undefined, childPath: string) => {
    if (!child) return;
    const fields = fieldsOf(schema, child, home, section);
    if (!fields) return;
    for (const [key, field] of Object.entries(fields.properties ?? {})) {
      const isRequired = fields.required?.includes(key) ?? false;
      out.push(...rows(schema, `${childPath}.${key}`, field, isRequired, home, section));
    }
  };
  expand(node, path);
  if (node.items) expand(node.items, `${path}[]`);
  for (const alternative of node.anyOf ?? []) expand(alternative, path);
  return out;
}

/** The node whose fields are listed under `node` in this section, if any. */
function fieldsOf(
  schema: Schema,
  node: Node,
  home: Map<string, string>,
  section: string,
): Node | undefined {
  if (node.properties) return node;
  const name = refName(node.$ref);
  const definition = name ? schema.definitions[name] : undefined;
  if (name && definition?.properties && home.get(name) === section) return definition;
  return undefined;
}

function typeOf(schema: Schema, node: Node, home: Map<string, string>, section: string): string {
  if (node.$ref) {
    const name = refName(node.$ref);
    if (name === undefined) {
      // #/properties/server: the same fields as that top-level section.
      const key = node.$ref.split("/").at(-1) ?? "";
      return `[\`${key}\`](#${headingSlug(key)}) fields`;
    }
    if (name in VALUE_KINDS) return `[${VALUE_KINDS[name]}](#values)`;
    const where = home.get(name);
    if (where !== undefined && where !== section)
      return `object, as [\`${where}\`](#${headingSlug(where)})`;
    return typeOf(schema, { ...schema.definitions[name], description: undefined }, home, section);
  }
  if (node.enum) return node.enum.map((value) => `\`${String(value)}\``).join(" | ");
  if (node.const !== undefined) return `\`${String(node.const)}\``;
  if (node.anyOf) {
    return node.anyOf
      .filter((alternative) => alternative.type !== "null")
      .map((alternative) => typeOf(schema, alternative, home, section))
      .join(" or ");
  }
  const type = Array.isArray(node.type) ? node.type.join(" or ") : (node.type ?? "any");
  if (type === "array" && node.items) {
    return `list of ${typeOf(schema, node.items, home, section)}${countRange(node.minItems, node.maxItems, " items")}`;
  }
  if (type === "object" && typeof node.additionalProperties === "object") {
    return `map of ${typeOf(schema, node.additionalProperties, home, section)}`;
  }
  if (type === "integer" || type === "number") return `${type}${numberRange(node)}`;
  return type;
}

function numberRange(node: Node): string {
  const low = node.exclusiveMinimum !== undefined ? `> ${node.exclusiveMinimum}` : node.minimum;
  if (low === undefined) return node.maximum === undefined ? "" : ` ≤ ${node.maximum}`;
  if (node.maximum === undefined) return typeof low === "number" ? ` ≥ ${low}` : ` ${low}`;
  return typeof low === "number" ? `, ${low}-${node.maximum}` : `, ${low}, ≤ ${node.maximum}`;
}

function countRange(min: number | undefined, max: number | undefined, unit: string): string {
  if (min !== undefined && max !== undefined) return `, ${min}-${max}${unit}`;
  if (min !== undefined && min > 0)
    return `, at least ${min}${unit.replace(/s$/, min === 1 ? "" : "s")}`;
  return "";
}

/** A `$ref`'s definition text, for a field that has no description of its own. */
function describedBy(schema: Schema, node: Node): string | undefined {
  const name = refName(node.$ref);
  return name ? schema.definitions[name]?.description : undefined;
}

/**
 * The default as a reader needs it: the description's own "Default: ..."
 * sentence wins (it says "the file name", where the schema holds a
 * placeholder), then `required`, then the schema's `default`. Empty when
 * none is known: `undocumentedDefaults` reports those.
 */
function defaultOf(node: Node, required: boolean): string {
  const stated = statedDefault(node.description);
  if (stated !== undefined) return stated;
  if (required || node.description?.startsWith("Required.")) return "required";
  if (!("default" in node)) return "";
  const value = node.default;
  if (value === null) return "none";
  if (typeof value === "string") return value === "" ? '`""`' : `\`${value}\``;
  return `\`${JSON.stringify(value).replace(/,/g, ", ")}\``;
}

const DEFAULT_SENTENCE = /\s*Default: (.*?)(?:\.(?=\s|$)|$)/;

function statedDefault(description: string | undefined): string | undefined {
  const match = description === undefined ? null : DEFAULT_SENTENCE.exec(description);
  return match?.[1]?.trim();
}

/** The description without its "Default: ..." sentence, which has its own column. */
function withoutDefault(description: string): string {
  return description
    .replace(DEFAULT_SENTENCE, "")
    .replace(/^Required\.\s*/, "")
    .trim();
}

function refName(ref: string | undefined): string | undefined {
  return ref?.startsWith("#/definitions/") ? ref.slice("#/definitions/".length) : undefined;
}
