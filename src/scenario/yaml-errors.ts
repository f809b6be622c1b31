import type { YAMLError } from "yaml";
import type { Problem } from "../shared/problem.js";

/**
 * The YAML parser's errors in rtbench's words, on the line the user has to
 * fix. The parser reports where it gave up, which is often the line before
 * the mistake (a key indented too far reads as the continuation of the
 * value above it) or the end of the file (an unclosed quote).
 */
export function yamlProblems(errors: readonly YAMLError[], text: string): Problem[] {
  const lines = text.split(/\r?\n/);
  const problems = new Map<string, Problem>();
  for (const error of errors) {
    const problem = translate(error, lines);
    // One mistake often gives two parser errors; one line each is enough.
    if (!problems.has(problem.path)) problems.set(problem.path, problem);
  }
  return [...problems.values()];
}

function translate(error: YAMLError, lines: readonly string[]): Problem {
  const [start, end] = error.linePos ?? [];
  const line = start?.line ?? 1;
  const column = start?.col ?? 1;
  const at = (n: number) => `line ${n}`;
  switch (error.code) {
    case "MULTILINE_IMPLICIT_KEY":
    case "BLOCK_AS_IMPLICIT_KEY":
      return continuedValue(lines, line, column, end?.line ?? line + 1);
    case "BAD_INDENT":
      if (/flow (sequence|mapping)/i.test(error.message)) {
        const closing = /mapping/i.test(error.message) ? "}" : "]";
        const opened = lastLineWith(lines, line - 1, closing === "]" ? "[" : "{");
        return {
          path: at(opened),
          text: `expected a closing ${closing} for the ${closing === "]" ? "list" : "mapping"} opened here`,
        };
      }
      return misaligned(lines, line);
    case "TAB_AS_INDENT":
      return { path: at(line), text: "expected spaces for indentation, found a tab" };
    case "MISSING_CHAR":
      if (/quote/i.test(error.message)) {
        const quote = error.message.includes("'") ? "'" : '"';
        const opened = lastLineWith(lines, line - 1, quote);
        return { path: at(opened), text: `expected a closing ${quote} for the string opened here` };
      }
      break;
    case "DUPLICATE_KEY": {
      const key = keyOf(lines[line - 1] ?? "");
      const first = earlierSibling(lines, line, key);
      const also = first === null ? "" : ` (also on line ${first})`;
      return {
        path: at(line),
        text: `expected each field once, found ${key ?? "a key"} again${also}`,
      };
    }
  }
  // Anything else: the parser's own words, without its "at line L, column C:" and excerpt.
  const message = error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, "");
  return { path: `line ${line}, column ${column}`, text: message };
}

/**
 * "key: value" followed by a line the parser read as more of that value: a
 * field indented further than the one above it, or (when the error starts
 * at a key) a line without a colon.
 */
function continuedValue(
  lines: readonly string[],
  line: number,
  column: number,
  next: number,
): Problem {
  const text = lines[line - 1] ?? "";
  if (column - 1 <= indentOf(text)) {
    return {
      path: `line ${line}`,
      text: `expected "field: value", found ${JSON.stringify(text.trim())} (a missing colon?)`,
    };
  }
  const culprit = firstContentLine(lines, line + 1, Math.max(next, line + 1));
  const above = indentOf(text);
  const found = indentOf(lines[culprit - 1] ?? "");
  return {
    path: `line ${culprit}`,
    text: `expected ${describeKey(lines[culprit - 1])} to line up with ${describeKey(text)} on line ${line} (column ${above + 1}), found column ${found + 1}`,
  };
}

/** A field indented less than its siblings but more than its parent. */
function misaligned(lines: readonly string[], line: number): Problem {
  const text = lines[line - 1] ?? "";
  const found = indentOf(text);
  let sibling = line - 1;
  while (
    sibling > 1 &&
    ((lines[sibling - 1] ?? "").trim() === "" || indentOf(lines[sibling - 1] ?? "") <= found)
  ) {
    sibling--;
  }
  const expected = indentOf(lines[sibling - 1] ?? "");
  return {
    path: `line ${line}`,
    text: `expected ${describeKey(text)} to line up with ${describeKey(lines[sibling - 1])} on line ${sibling} (column ${expected + 1}), found column ${found + 1}`,
  };
}

/** The line of the same key in the same mapping above `line` (stops at the parent), or null. */
function earlierSibling(
  lines: readonly string[],
  line: number,
  key: string | undefined,
): number | null {
  const indent = indentOf(lines[line - 1] ?? "");
  for (let n = line - 1; n >= 1; n--) {
    const text = lines[n - 1] ?? "";
    if (text.trim() === "") continue;
    if (indentOf(text) < indent) return null;
    if (indentOf(text) === indent && keyOf(text) === key) return n;
  }
  return null;
}

function indentOf(text: string): number {
  return text.length - text.trimStart().length;
}

function keyOf(text: string): string | undefined {
  return /^\s*(?:-\s+)?([^\s:#][^:#]*?)\s*:(?:\s|$)/.exec(text)?.[1];
}

function describeKey(text: string | undefined): string {
  const key = keyOf(text ?? "");
  return key === undefined ? "the line" : `"${key}:"`;
}

function firstContentLine(lines: readonly string[], from: number, to: number): number {
  for (let n = from; n <= to; n++) if ((lines[n - 1] ?? "").trim() !== "") return n;
  return to;
}

/** The last line at or before `line` holding `char`, for "opened here". */
function lastLineWith(lines: readonly string[], line: number, char: string): number {
  for (let n = Math.min(line, lines.length); n >= 1; n--) {
    if ((lines[n - 1] ?? "").includes(char)) return n;
  }
  return Math.max(1, line);
}
