#!/usr/bin/env node
import { execFileSync } from "node:child_process";
// Lists the source files over FILE_LINES lines and the functions over
// FUNCTION_LINES lines that do not say, in the comment at their top, why
// they are longer than the rest. Long is allowed; long without a reason is
// what this finds: a file's opening comment or a function's leading comment
// must carry a phrase like "longer than most", "long because" or "over 300
// lines because". `npm run sizes` prints them; test/structure.test.ts fails
// on any.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";

export const FILE_LINES = 300;
export const FUNCTION_LINES = 80;
/** The phrases that count as a reason given. */
export const REASON = /longer\s+than\s+most|\blong\s+because|lines\s+because|\bis\s+long:/i;
/** The source folders held to the limits (tests and benches are not). */
const ROOTS = ["src/", "reference-server/"];

const root = fileURLToPath(new URL("..", import.meta.url));

/** Every tracked TypeScript source file under the roots (paths from the repository's root). */
export function sourceFiles() {
  const out = execFileSync("git", ["ls-files", "--", ...ROOTS], { cwd: root, encoding: "utf8" });
  return out.split("\n").filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
}

function commentsBefore(text, node) {
  const ranges = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  // The words alone: a reason may wrap over " * " or "// " line starts.
  return ranges
    .map((r) => text.slice(r.pos, r.end))
    .join(" ")
    .replace(/\/\*+|\*+\/|^\s*\*|\/\//gm, " ")
    .replace(/\s+/g, " ");
}

/** The statement a function is the value of, whose comment is the function's. */
function owner(node) {
  let at = node;
  while (
    at.parent &&
    (ts.isVariableDeclaration(at.parent) ||
      ts.isVariableDeclarationList(at.parent) ||
      ts.isVariableStatement(at.parent) ||
      ts.isPropertyAssignment(at.parent) ||
      ts.isPropertyDeclaration(at.parent) ||
      ts.isExportAssignment(at.parent))
  ) {
    at = at.parent;
  }
  return at;
}

function nameOf(node) {
  if (node.name && ts.isIdentifier(node.name)) return node.name.text;
  if (ts.isConstructorDeclaration(node)) return "constructor";
  const holder = owner(node);
  if (holder !== node) {
    const decl = holder.declarationList?.declarations?.[0] ?? holder;
    if (decl.name && ts.isIdentifier(decl.name)) return decl.name.text;
  }
  return "(anonymous)";
}

/** The long parts of one file: [{ file, kind, name, lines, line }]. */
export function longPartsOf(file, text) {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const lineOf = (pos) => source.getLineAndCharacterOfPosition(pos).line + 1;
  const found = [];
  const fileLines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
  if (fileLines > FILE_LINES) {
    const first = source.statements[0];
    const opening = first ? commentsBefore(text, first) : "";
    if (!REASON.test(opening))
      found.push({ file, kind: "file", name: "", lines: fileLines, line: 1 });
  }
  const visit = (node) => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const lines = lineOf(node.getEnd()) - lineOf(node.getStart(source)) + 1;
      if (lines > FUNCTION_LINES) {
        const said = commentsBefore(text, owner(node)) + commentsBefore(text, node);
        if (!REASON.test(said)) {
          found.push({
            file,
            kind: "function",
            name: nameOf(node),
            lines,
            line: lineOf(node.getStart(source)),
          });
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The long parts without a reason, over every source file. */
export function longParts() {
  return sourceFiles().flatMap((file) => longPartsOf(file, readFileSync(`${root}${file}`, "utf8")));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const parts = longParts().sort((a, b) => b.lines - a.lines);
  for (const p of parts) {
    const what = p.kind === "file" ? "file" : `function ${p.name}`;
    console.log(`${String(p.lines).padStart(4)} lines  ${p.file}:${p.line}  ${what}`);
  }
  console.log(
    parts.length === 0
      ? `no file over ${FILE_LINES} lines or function over ${FUNCTION_LINES} without a reason at its top`
      : `${parts.length} without a reason at the top (files over ${FILE_LINES} lines, functions over ${FUNCTION_LINES})`,
  );
  process.exitCode = parts.length === 0 ? 0 : 1;
}
