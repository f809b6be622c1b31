/**
 * The docs check: README.md and docs/*.md are what a user navigates, so
 * every relative link and #anchor in them must resolve, and every `rtbench`
 * command in a shell block must be one the real CLI accepts.
 *
 * Commands are checked at the cost each allows:
 * - every one is parsed by the real commander program (the real subcommands
 *   and their options, with the actions replaced), so a renamed flag or
 *   subcommand fails here;
 * - every scenario file one names (run, validate, ab) exists and validates;
 * - the cheap ones run for real: `validate` and `metrics` from the package
 *   folder, `init` in a fresh temporary folder (then its scenario is
 *   validated too);
 * - `run`, `ab`, `serve`, `compare` and `report` are only parsed: they
 *   measure for minutes, start servers, or need result files of a run.
 * `npm run NAME` lines must name a script of package.json.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { Command } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { commands } from "../src/cli/commands/index.js";
import { bundledScenarioFile } from "../src/scenario/bundled.js";
import { loadScenario } from "../src/scenario/load.js";
import { anchorsOf } from "../src/schemas/markdown.js";
import { packageRoot } from "../src/util/paths.js";
import { runRtbench } from "./helpers/cli.js";

const PAGES = [
  "README.md",
  ...readdirSync(join(packageRoot, "docs"))
    .filter((file) => file.endsWith(".md"))
    .map((file) => `docs/${file}`),
];

/** Files a command names that are the reader's own, not the package's, and why. */
const READERS_FILES: Record<string, string> = {
  "scenario.yaml": "written by `rtbench init` in the same block (the init run below validates it)",
  "rtbench/server.yaml": "the reader's own scenario in the own-server CI workflow",
};

interface Page {
  file: string;
  text: string;
}

const pages: Page[] = PAGES.map((file) => ({
  file,
  text: readFileSync(join(packageRoot, file), "utf8"),
}));

/** The page's text outside fenced code blocks, with inline code spans blanked. */
function prose(text: string): string {
  const out: string[] = [];
  let fenced = false;
  for (const line of text.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (!fenced) out.push(line.replace(/`[^`\n]*`/g, "``"));
  }
  return out.join("\n");
}

/** Every link and image target of a page: `[text](target)`. */
function linkTargets(text: string): string[] {
  const targets: string[] = [];
  for (const match of prose(text).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    if (match[1]) targets.push(match[1]);
  }
  return targets;
}

/** The problem with one link of `page`, or null when it resolves. */
function linkProblem(page: Page, target: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return null; // https:, mailto:: not checked offline
  const hash = target.indexOf("#");
  const path = hash === -1 ? target : target.slice(0, hash);
  const anchor = hash === -1 ? null : decodeURIComponent(target.slice(hash + 1));
  const file =
    path === ""
      ? join(packageRoot, page.file)
      : resolve(dirname(join(packageRoot, page.file)), path);
  if (!existsSync(file)) {
    return `${target}: no such file ${relative(packageRoot, file)}`;
  }
  if (anchor === null) return null;
  if (!file.endsWith(".md")) return `${target}: an anchor into a file that is not Markdown`;
  const anchors = anchorsOf(readFileSync(file, "utf8"));
  return anchors.has(anchor) ? null : `${target}: no heading with anchor #${anchor}`;
}

/** The shell lines of a page's sh/bash/console blocks, continuation lines joined. */
function shellLines(text: string): string[] {
  const lines: string[] = [];
  let inShell = false;
  let fenced = false;
  let pending = "";
  for (const line of text.split("\n")) {
    const fence = /^\s*```(\w*)/.exec(line);
    if (fence) {
      fenced = !fenced;
      inShell = fenced && ["sh", "bash", "shell", "console"].includes(fence[1] ?? "");
      continue;
    }
    if (!inShell) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    lines.push(pending + line);
    pending = "";
  }
  return lines;
}

/** Shell words of one line, quotes removed, up to a comment. */
function words(line: string): string[] {
  const out: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      word = (word ?? "") + line.slice(i + 1, end === -1 ? undefined : end);
      i = end === -1 ? line.length : end;
    } else if (/\s/.test(c)) {
      if (word !== null) out.push(word);
      word = null;
    } else if (c === "#" && word === null) {
      break;
    } else if ("&|;".includes(c)) {
      if (word !== null) out.push(word);
      word = null;
      out.push(c);
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== null) out.push(word);
  return out;
}

/** The argument lists of every `rtbench` invocation on a shell line. */
function rtbenchCommands(line: string): string[][] {
  const found: string[][] = [];
  let current: string[] | null = null;
  const tokens = words(line);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    if ("&|;".includes(token)) {
      if (current) found.push(current);
      current = null;
    } else if (current) {
      // A redirection and its file are the shell's, not rtbench's.
      if (/^\d?>/.test(token)) {
        if (/^\d?>+$/.test(token)) i++;
      } else current.push(token);
    } else if (token === "rtbench" && [undefined, "npx", "&", "|", ";"].includes(tokens[i - 1])) {
      current = []; // `npm install rtbench` names the package, not the command
    }
  }
  if (current) found.push(current);
  return found;
}

interface Parsed {
  command: string;
  operands: string[];
}

/** Parses `args` with the real CLI's commands, their actions replaced: nothing runs. */
function parseOnly(args: string[]): Parsed {
  let parsed: Parsed | undefined;
  const silent = { writeOut: () => {}, writeErr: () => {} };
  const program = new Command("rtbench").option("--verbose").exitOverride().configureOutput(silent);
  for (const command of commands()) {
    command.exitOverride().configureOutput(silent);
    command.action((...actionArgs: unknown[]) => {
      const self = actionArgs.at(-1) as Command;
      parsed = { command: self.name(), operands: self.args };
    });
    program.addCommand(command);
  }
  program.parse(args, { from: "user" });
  if (!parsed) throw new Error(`no subcommand in: rtbench ${args.join(" ")}`);
  return parsed;
}

const SCENARIO_COMMANDS = new Set(["run", "validate", "ab", "k8s"]);

const invocations = pages.flatMap((page) =>
  shellLines(page.text).flatMap((line) =>
    rtbenchCommands(line).map((args) => ({ page: page.file, line, args })),
  ),
);

describe("the docs check: README.md and docs/*.md", () => {
  const temporary: string[] = [];
  afterAll(async () => {
    for (const dir of temporary) await rm(dir, { recursive: true, force: true });
  });

  it("every relative link and #anchor resolves", () => {
    const problems: string[] = [];
    let checked = 0;
    for (const page of pages) {
      for (const target of linkTargets(page.text)) {
        checked++;
        const problem = linkProblem(page, target);
        if (problem) problems.push(`${page.file}: ${problem}`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(50);
  });

  it("finds the commands it checks (the README's two among them)", () => {
    const shown = invocations.map(({ args }) => args.join(" "));
    expect(shown).toContain("run scenarios/quickstart.yaml");
    expect(invocations.length).toBeGreaterThan(10);
  });

  it("every rtbench command in a shell block is accepted by the CLI's parser", () => {
    const problems: string[] = [];
    for (const { page, line, args } of invocations) {
      try {
        parseOnly(args);
      } catch (error) {
        problems.push(`${page}: ${line.trim()}: ${(error as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("every scenario a command names exists and validates", async () => {
    const problems: string[] = [];
    const seen = new Set<string>();
    for (const { page, args } of invocations) {
      let parsed: Parsed;
      try {
        parsed = parseOnly(args);
      } catch {
        continue; // the parser test above reports it
      }
      const { command, operands } = parsed;
      if (!SCENARIO_COMMANDS.has(command)) continue;
      for (const operand of operands) {
        if (operand in READERS_FILES || seen.has(operand)) continue;
        seen.add(operand);
        const file = bundledScenarioFile(operand) ?? operand;
        if (!existsSync(join(packageRoot, file))) {
          problems.push(`${page}: rtbench ${args.join(" ")}: no scenario ${operand}`);
          continue;
        }
        await loadScenario(join(packageRoot, file)).catch((error: Error) => {
          problems.push(`${page}: ${operand}: ${error.message}`);
        });
      }
    }
    expect(problems).toEqual([]);
    expect(seen.size).toBeGreaterThan(10);
  });

  it("the cheap commands run for real: validate and metrics here, init in a fresh folder", async () => {
    const cheap = new Map<string, string[]>();
    for (const { args } of invocations) {
      if (["validate", "metrics", "init"].includes(args[0] ?? "")) cheap.set(args.join(" "), args);
    }
    expect([...cheap.values()].some((args) => args[0] === "init")).toBe(true);
    for (const args of cheap.values()) {
      let cwd = packageRoot;
      if (args[0] === "init") {
        cwd = await mkdtemp(join(tmpdir(), "rtbench-docs-init-"));
        temporary.push(cwd);
      }
      const outcome = await runRtbench(args, { cwd });
      expect(outcome.code, `rtbench ${args.join(" ")}: ${outcome.stderr}`).toBe(0);
      if (args[0] === "init") {
        const name = args.slice(1).find((arg) => !arg.startsWith("-")) ?? "scenario";
        await loadScenario(join(cwd, `${name}.yaml`));
      }
    }
  });

  it("every `npm run NAME` names a script of package.json", () => {
    const scripts = (
      JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    const problems: string[] = [];
    for (const page of pages) {
      for (const line of shellLines(page.text)) {
        for (const match of line.matchAll(/\bnpm run ([\w:-]+)/g)) {
          if (!((match[1] as string) in scripts)) problems.push(`${page.file}: ${line.trim()}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
