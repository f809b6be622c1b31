/**
 * One problem in a scenario file, shown to the user as one line:
 * `clients.count: expected a positive integer, found "many"`.
 */
export interface Problem {
  /** Where in the file: `clients.count`, `protocols[1]`, `thresholds["sse.lost"]`, `(root)`. */
  path: string;
  /** What is wrong, starting with "expected" where there is something to expect. */
  text: string;
}

/** Reports a problem on `field` of the item being checked (a fault, a section): its caller knows the path. */
export type FieldProblem = (field: string, text: string) => void;

export function problemLine(problem: Problem): string {
  return `${problem.path}: ${problem.text}`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `["clients", "count"]` -> `clients.count`; indexes as `[i]`; odd keys quoted. */
export function formatPath(segments: readonly (string | number)[]): string {
  if (segments.length === 0) return "(root)";
  let path = "";
  for (const segment of segments) {
    if (typeof segment === "number") path += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) path += path === "" ? segment : `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path;
}

const FOUND_MAX_CHARS = 60;

/** A value as it is quoted after "found": JSON, cut short when long. */
export function formatFound(value: unknown): string {
  const json = value === undefined ? "nothing" : JSON.stringify(value);
  return json.length <= FOUND_MAX_CHARS ? json : `${json.slice(0, FOUND_MAX_CHARS - 3)}...`;
}
