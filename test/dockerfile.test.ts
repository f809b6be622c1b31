/**
 * The Dockerfile, checked without a Docker engine (none here): parsed and
 * linted with the Docker language server's own parser and validator
 * (dockerfile-ast, dockerfile-utils), and held against what `npm pack`
 * puts in the package, which is what the image runs.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { validate } from "dockerfile-utils";
import { describe, expect, it } from "vitest";
import { SHARD_ENTRY } from "../src/load/shards/shards.js";
import { packageRoot } from "../src/util/paths.js";

const DOCKERFILE = readFileSync(join(packageRoot, "Dockerfile"), "utf8");
const IGNORED = readFileSync(join(packageRoot, ".dockerignore"), "utf8")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line !== "" && !line.startsWith("#"));

const dockerfile = DockerfileParser.parse(DOCKERFILE);
const instructions = dockerfile.getInstructions();
const words = (i: Instruction) => i.getArguments().map((a) => a.getValue());
const fromStage = (i: Instruction) =>
  (i as unknown as { getFlags(): { getName(): string; getValue(): string | null }[] })
    .getFlags()
    .find((f) => f.getName() === "from")
    ?.getValue() ?? null;

/** The instructions of the last stage: what the image is. */
const lastFrom = instructions.findLastIndex((i) => i.getKeyword() === "FROM");
const finalStage = instructions.slice(lastFrom);
/** Files the build copies from the build context (the repository). */
const contextSources = instructions
  .filter((i) => i.getKeyword() === "COPY" && fromStage(i) === null)
  .flatMap((i) => words(i).slice(0, -1));

/** `npm pack`'s file list, from what is built now (no build, no scripts). */
function packedFiles(): string[] {
  const pack = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: packageRoot,
    encoding: "utf8",
    timeout: 60_000,
  });
  if (pack.status !== 0) throw new Error(`npm pack failed: ${pack.stderr}`);
  const [result] = JSON.parse(pack.stdout) as { files: { path: string }[] }[];
  return (result?.files ?? []).map((f) => f.path);
}

describe("the Dockerfile", () => {
  it("has no problem the Docker language server's validator finds (and it finds a planted one)", () => {
    expect(validate(DOCKERFILE)).toEqual([]);
    const broken = DOCKERFILE.replace("USER 1000:1000", "USER").replace("WORKDIR /src", "WORKDIR");
    expect(validate(broken).length).toBeGreaterThanOrEqual(2);
  });

  it("builds on node:20-slim and runs rtbench as uid 1000, production dependencies only", () => {
    expect(dockerfile.getFROMs().map((f) => f.getImage())).toEqual([
      "node:20-slim",
      "node:20-slim",
    ]);
    const last = (keyword: string) => finalStage.filter((i) => i.getKeyword() === keyword).at(-1);
    expect(words(last("USER") as Instruction)).toEqual(["1000:1000"]);
    expect(JSON.parse(words(last("ENTRYPOINT") as Instruction).join(" "))).toEqual(["rtbench"]);
    const runs = finalStage.filter((i) => i.getKeyword() === "RUN").map((i) => words(i).join(" "));
    expect(runs.some((r) => /npm ci --omit=dev --ignore-scripts/.test(r))).toBe(true);
    expect(runs.some((r) => r.includes("/usr/local/bin/rtbench"))).toBe(true);
    // The image's final stage takes nothing from the context: only the packed package.
    expect(
      finalStage.filter((i) => i.getKeyword() === "COPY").every((i) => fromStage(i) === "build"),
    ).toBe(true);
  });

  it("copies the scripts npm runs in the build stage before the RUN that runs them", () => {
    const { scripts } = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    const buildStage = instructions.slice(0, lastFrom);
    const firstRun = (pattern: RegExp) =>
      buildStage.findIndex((i) => i.getKeyword() === "RUN" && pattern.test(words(i).join(" ")));
    const copiedBefore = (index: number) =>
      buildStage
        .slice(0, index)
        .filter((i) => i.getKeyword() === "COPY" && fromStage(i) === null)
        .flatMap((i) => words(i).slice(0, -1));
    // `npm ci` runs `prepare`; `npm run build` runs `build`.
    for (const [script, pattern] of [
      ["prepare", /npm ci/],
      ["build", /npm run build/],
    ] as const) {
      const at = firstRun(pattern);
      expect(at, script).toBeGreaterThan(-1);
      const files = [...(scripts[script] ?? "").matchAll(/\bscripts\/[\w.-]+/g)].map((m) => m[0]);
      expect(files.length, script).toBeGreaterThan(0);
      for (const file of files) {
        expect(existsSync(join(packageRoot, file)), file).toBe(true);
        expect(
          copiedBefore(at).some((source) => file === source || file.startsWith(`${source}/`)),
          `${file} (npm's ${script}) is copied before the RUN`,
        ).toBe(true);
      }
    }
  });

  it("copies sources that exist and that .dockerignore lets through", () => {
    expect(contextSources.length).toBeGreaterThan(5);
    for (const source of contextSources) {
      expect(existsSync(join(packageRoot, source)), source).toBe(true);
      expect(IGNORED, source).not.toContain(source);
    }
    // What the image builds for itself never comes from the context.
    expect(IGNORED).toEqual(expect.arrayContaining(["node_modules", "dist"]));
  });

  it("copies every source of what npm pack ships, and the pack holds the entry points the image runs", () => {
    const files = packedFiles();
    for (const entry of [
      "bin/rtbench.js",
      "dist/src/cli/main.js",
      `dist/${SHARD_ENTRY}`,
      "dist/reference-server/main.js",
      "package.json",
    ]) {
      expect(files, entry).toContain(entry);
    }
    expect(
      files.filter((f) => f.startsWith("test/") || (f.endsWith(".ts") && !f.endsWith(".d.ts"))),
    ).toEqual([]);
    // Each top-level part of the pack is built in the image (dist) or copied into it.
    const parts = new Set(files.map((f) => f.split("/")[0] as string));
    parts.delete("dist");
    parts.delete("package.json");
    expect([...parts].filter((part) => !contextSources.includes(part))).toEqual([]);
  });
});
