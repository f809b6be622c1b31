import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root: the nearest folder above this module holding rtbench's package.json. */
export const packageRoot: string = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, "utf8")) as { name?: string };
      if (pkg.name === "rtbench") return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`rtbench: no package.json above ${start}`);
    dir = parent;
  }
}

/**
 * Absolute path of a compiled entry point for child processes, e.g.
 * `compiledEntry("reference-server/main.js")`. Children always run the
 * compiled JavaScript in dist/, also when the parent runs from TypeScript
 * source under vitest, so `npm test` builds before it tests.
 */
export function compiledEntry(relativePath: string): string {
  const path = join(packageRoot, "dist", relativePath);
  if (!existsSync(path)) {
    throw new Error(`rtbench: ${path} is missing; run \`npm run build\` first`);
  }
  return path;
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as {
    version: string;
  };
  return pkg.version;
}
