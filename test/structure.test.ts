// The code's shape, held where a change can break it: imports run one way
// (no file imports itself back through others, no folder imports a folder
// that imports it), and no source file or function is long without saying
// why at its top (scripts/sizes.js, `npm run sizes`).
import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain-JS script without types
import { longParts, longPartsOf, sourceFiles } from "../scripts/sizes.js";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** file -> the source files it imports (relative specifiers, type imports too). */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(repoRoot, file), "utf8");
    const targets = ts
      .preProcessFile(text, true, true)
      .importedFiles.map((i) => i.fileName)
      .filter((spec) => spec.startsWith("."))
      .map((spec) =>
        relative(repoRoot, join(repoRoot, dirname(file), spec)).replace(/\.js$/, ".ts"),
      )
      .filter((target) => known.has(target));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** The strongly connected parts of more than one node (Tarjan): each is a circle. */
function circles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next++;
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node) as number, low.get(to) as number));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node) as number, index.get(to) as number));
      }
    }
    if (low.get(node) === index.get(node)) {
      const part: string[] = [];
      let at: string;
      do {
        at = stack.pop() as string;
        onStack.delete(at);
        part.push(at);
      } while (at !== node);
      if (part.length > 1) found.push(part.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

/** A file's room at the folder scale: src/<folder>, src/load/<folder>, or reference-server. */
function folderOf(file: string): string {
  const parts = file.split("/");
  if (parts[0] === "reference-server") return "reference-server";
  if (parts[1] === "load" && parts.length > 3) return parts.slice(0, 3).join("/");
  return parts.length > 2 ? parts.slice(0, 2).join("/") : file;
}

describe("the code's structure", () => {
  const graph = importGraph(sourceFiles() as string[]);

  it("has no import circle between files", () => {
    expect(circles(graph)).toEqual([]);
  });

  it("has no import circle between folders (no import runs back up)", () => {
    const folders = new Map<string, Set<string>>();
    for (const [file, targets] of graph) {
      const from = folderOf(file);
      const set = folders.get(from) ?? new Set<string>();
      for (const target of targets) if (folderOf(target) !== from) set.add(folderOf(target));
      folders.set(from, set);
    }
    const asLists = new Map([...folders].map(([k, v]) => [k, [...v]]));
    expect(circles(asLists)).toEqual([]);
  });

  it("finds a circle when there is one (the check itself)", () => {
    const looped = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts"]],
      ["d.ts", ["a.ts"]],
    ]);
    expect(circles(looped)).toEqual([["a.ts", "b.ts", "c.ts"]]);
  });

  it("has no file over 300 lines or function over 80 without a reason at its top", () => {
    const parts = (longParts() as LongPart[]).map(
      (p) => `${p.file}:${p.line} ${p.kind} ${p.name} ${p.lines} lines`,
    );
    expect(parts).toEqual([]);
  });

  it("finds a long function, and takes a reason at its top (the check itself)", () => {
    const body = Array.from({ length: 85 }, (_, i) => `  const v${i} = ${i};`).join("\n");
    const bare = `export function long(): void {\n${body}\n}\n`;
    const said = `/** Longer than most: one table. */\n${bare}`;
    expect((longPartsOf("x.ts", bare) as LongPart[]).map((p) => [p.kind, p.name])).toEqual([
      ["function", "long"],
    ]);
    expect(longPartsOf("x.ts", said)).toEqual([]);
  });
});

interface LongPart {
  file: string;
  line: number;
  kind: string;
  name: string;
  lines: number;
}
