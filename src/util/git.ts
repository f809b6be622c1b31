import { execFileSync } from "node:child_process";

/** The commit checked out in `dir`, or null outside a git work tree (or without git). */
export function gitCommit(dir: string): string | null {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], {
      cwd: dir,
      stdio: ["ignore", "pipe", "ignore"],
    })
      .toString()
      .trim();
  } catch {
    return null;
  }
}
