import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A scratch root of this test file's own. rtbench makes its proxies' and
 * targets' scratch directories under `os.tmpdir()`, which reads TMPDIR at
 * each call: pointing it here (each test file runs in a process of its own)
 * marks what this file's runs start, so a leftover check counts those, not
 * the nginx another test file runs beside it in the other worker.
 */
export function ownScratchRoot(prefix: string): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  process.env.TMPDIR = root;
  process.once("exit", () => rmSync(root, { recursive: true, force: true }));
  return root;
}

/** Live processes whose command line matches `pattern` and names a path under `root`. */
export function leftoverProcesses(pattern: RegExp, root: string): string[] {
  const lines = execFileSync("ps", ["-eo", "stat=,args="], { encoding: "utf8" }).split("\n");
  return lines.filter((line) => pattern.test(line) && line.includes(root) && !/^Z/.test(line));
}
