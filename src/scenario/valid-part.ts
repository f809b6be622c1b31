/**
 * The part of a scenario document the schema accepts. Every value the schema
 * rejected is cut out (a list as a whole, when one of its items is wrong),
 * and again when a cut leaves its parent invalid (a template without its
 * required `path`), so the defaults and relational checks that follow only
 * ever read values of the types the schema promises: a wrong type is a
 * problem line naming its path, never an internal error further on.
 */

import { type Doc, isMapping } from "./reader.js";
import { type SchemaFinding, schemaFindings } from "./schema.js";

/** Each pass cuts at least one value, and a cut parent has fewer levels below it. */
const MAX_PASSES = 10;

/**
 * The document without the values that `findings` (its schema problems)
 * reject; null when nothing usable is left.
 */
export function schemaValidPart(doc: Doc, findings: readonly SchemaFinding[]): Doc | null {
  if (findings.length === 0) return doc;
  const document = structuredClone(doc);
  let pending = findings;
  for (let pass = 0; pass < MAX_PASSES && pending.length > 0; pass++) {
    for (const { segments } of pending) {
      const place = upToFirstItem(segments);
      if (place.length === 0) return null;
      cut(document, place);
    }
    pending = schemaFindings(document);
  }
  return pending.length === 0 ? document : null;
}

/** `faults[2].at` -> `faults`: the code after validation reads a list whole, never item by item. */
function upToFirstItem(segments: readonly (string | number)[]): string[] {
  const place: string[] = [];
  for (const segment of segments) {
    if (typeof segment === "number") break;
    place.push(segment);
  }
  return place;
}

function cut(document: Doc, place: readonly string[]): void {
  let node: unknown = document;
  for (const key of place.slice(0, -1)) {
    if (!isMapping(node)) return;
    node = node[key];
  }
  if (isMapping(node)) delete node[place[place.length - 1] as string];
}
