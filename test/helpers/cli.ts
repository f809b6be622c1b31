import { spawn } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "../../src/util/paths.js";

/** The real CLI entry, as a user runs it (needs dist/: `npm test` builds first). */
export const RTBENCH_BIN = join(packageRoot, "bin", "rtbench.js");

export interface CliOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/** Runs `rtbench ...args` in its own process and collects what a user would see. */
export function runRtbench(
  args: string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CliOutcome> {
  const startedMs = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RTBENCH_BIN, ...args], {
      cwd: options.cwd ?? packageRoot,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: options.timeoutMs ?? 40_000,
      env: { ...process.env, NO_COLOR: "1", ...options.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({ code, stdout, stderr, elapsedMs: Date.now() - startedMs }),
    );
  });
}
