/**
 * Finding one's way in the scenario schema and in the document it checks:
 * the schema node that applies at a path ($refs and anyOf branches
 * followed), JSON-pointer segments, the value at a place, and every field
 * path (what "did you mean" guesses from).
 */
import { isMapping } from "./reader.js";

export interface SchemaNode {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: SchemaNode[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  minItems?: number;
  pattern?: string;
  propertyNames?: SchemaNode;
  definitions?: Record<string, SchemaNode>;
}

/** The node a `$ref` points at (a definition, or a top-level section); any other node itself. */
export function deref(node: SchemaNode | undefined, root: SchemaNode): SchemaNode | undefined {
  if (node?.$ref === undefined) return node;
  // A variant's `server` refers to the top-level section: "#/properties/server".
  if (node.$ref.startsWith("#/properties/")) {
    return root.properties?.[node.$ref.slice("#/properties/".length)];
  }
  const name = node.$ref.slice("#/definitions/".length);
  return root.definitions?.[name];
}

/** The schema that applies at `segments`, following properties, items and anyOf branches. */
export function schemaAt(
  root: SchemaNode,
  segments: readonly (string | number)[],
): SchemaNode | undefined {
  let node: SchemaNode | undefined = root;
  for (const segment of segments) {
    node = childSchema(deref(node, root), segment, root);
    if (node === undefined) return undefined;
  }
  return node;
}

function childSchema(
  node: SchemaNode | undefined,
  segment: string | number,
  root: SchemaNode,
): SchemaNode | undefined {
  if (node === undefined) return undefined;
  if (typeof segment === "number") {
    if (node.items !== undefined) return node.items;
  } else {
    const property = node.properties?.[segment];
    if (property !== undefined) return property;
    if (typeof node.additionalProperties === "object") return node.additionalProperties;
  }
  for (const branch of node.anyOf ?? []) {
    const child = childSchema(deref(branch, root), segment, root);
    if (child !== undefined) return child;
  }
  return undefined;
}

/** Each schema's field paths, worked out at its first "did you mean". */
const fieldPathsOf = new WeakMap<SchemaNode, string[][]>();

/** Every field path of the scenario schema through mappings and shared definitions (not list items). */
export function fieldPaths(root: SchemaNode): string[][] {
  const known = fieldPathsOf.get(root);
  if (known !== undefined) return known;
  const paths: string[][] = [];
  const walk = (node: SchemaNode | undefined, prefix: string[], seen: Set<SchemaNode>) => {
    const target = deref(node, root);
    if (target === undefined || seen.has(target) || prefix.length > 3) return;
    const inner = new Set(seen).add(target);
    for (const [name, child] of Object.entries(target.properties ?? {})) {
      paths.push([...prefix, name]);
      walk(child, [...prefix, name], inner);
    }
    for (const branch of target.anyOf ?? []) walk(branch, prefix, inner);
  };
  walk(root, [], new Set());
  fieldPathsOf.set(root, paths);
  return paths;
}

/** JSON-pointer segments of `pointer`, with array indexes as numbers (told apart by `data`). */
export function pointerSegments(pointer: string, data: unknown): (string | number)[] {
  const segments: (string | number)[] = [];
  let node = data;
  for (const raw of pointer.split("/").slice(1)) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (Array.isArray(node)) {
      segments.push(Number(key));
      node = node[Number(key)];
    } else {
      segments.push(key);
      node = isMapping(node) ? node[key] : undefined;
    }
  }
  return segments;
}

export function valueAt(data: unknown, segments: readonly (string | number)[]): unknown {
  let node = data;
  for (const segment of segments) {
    if (Array.isArray(node) && typeof segment === "number") node = node[segment];
    else if (isMapping(node)) node = node[String(segment)];
    else return undefined;
  }
  return node;
}
