import { type DefaultedPath, SCENARIO_DEFAULTS } from "./defaults.js";
import { parseDuration, parseRate } from "./units.js";

/** A YAML mapping as the parser gives it. */
export type Doc = Record<string, unknown>;

/** A mapping (not a list, not a scalar, not null): what a section or an item must be. */
export function isMapping(value: unknown): value is Doc {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Reads dotted paths from the document, falling back to the field's default
 * (SCENARIO_DEFAULTS). Values are trusted to have the schema's type: fields
 * the schema rejected are reported already and their checks skipped.
 */
export function reader(doc: Doc) {
  const raw = (path: string): unknown => {
    let node: unknown = doc;
    for (const key of path.split(".")) {
      if (!isMapping(node)) return undefined;
      node = (node as Doc)[key];
    }
    return node;
  };
  const durationOr = (path: string, fallbackMs: number): number => {
    const found = raw(path);
    if (found === 0) return 0;
    if (typeof found !== "string") return fallbackMs;
    return tryParse(parseDuration, found, fallbackMs);
  };
  return {
    raw,
    /** The value at `path`, or its default; typed as the default (the schema checked the type). */
    value<P extends DefaultedPath>(path: P): Widen<(typeof SCENARIO_DEFAULTS)[P]> {
      const found = raw(path);
      return (found === undefined ? SCENARIO_DEFAULTS[path] : found) as Widen<
        (typeof SCENARIO_DEFAULTS)[P]
      >;
    },
    /** A duration field in ms, or its default. */
    duration(path: DefaultedPath): number {
      return durationOr(path, parseDuration(String(SCENARIO_DEFAULTS[path])));
    },
    /** A duration whose default is not a constant (presenceTtl: three heartbeats). */
    durationOr,
    rate(path: DefaultedPath): number {
      const fallback = parseRate(String(SCENARIO_DEFAULTS[path]));
      const found = raw(path);
      if (typeof found !== "string") return fallback;
      return tryParse(parseRate, found, fallback);
    },
  };
}

/** `"memory"` -> the field's type: literal defaults stand for their whole type. */
type Widen<T> = T extends number
  ? number
  : T extends boolean
    ? boolean
    : T extends string
      ? string
      : T;

export function tryParse(parse: (text: string) => number, text: string, fallback: number): number {
  try {
    return parse(text);
  } catch {
    return fallback;
  }
}

export type Reader = ReturnType<typeof reader>;
