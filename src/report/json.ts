/**
 * The result as JSON text, for the result file, `--json` and `rtbench
 * report --format json`: indented for people, except arrays of numbers
 * (the timeline's series), which stay on one line each so a long run does
 * not turn into thousands of one-number lines.
 */
export function renderJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(NUMBER_ARRAY, (_, items: string) => {
    return `[${items.split(/,\s*/).join(", ")}]`;
  });
}

// An indented array whose items are all numbers or null. JSON strings cannot hold a raw
// newline, so "[" followed by a newline only ever opens an array.
const ITEM = "(?:-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?|null)";
const NUMBER_ARRAY = new RegExp(`\\[\\n\\s+(${ITEM}(?:,\\n\\s+${ITEM})*)\\n\\s*\\]`, "g");
