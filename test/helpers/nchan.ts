import { spawnSync } from "node:child_process";
import { describe } from "vitest";
import { loadNchanModule } from "../../src/targets/nchan.js";

/** Why Nchan tests cannot run here, or null when nginx and its Nchan module are installed. */
export function nchanMissing(): string | null {
  const nginx = spawnSync("nginx", ["-v"], { encoding: "utf8" });
  if (nginx.error !== undefined) return "nginx is not on PATH";
  try {
    loadNchanModule();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return null;
}

/**
 * Declares a suite that runs a real Nchan (nginx started by rtbench from the
 * scenario's command). Without nginx or its module the suite is skipped, and
 * says why in its name, unless RTBENCH_REQUIRE_NCHAN=1 (CI), where it fails.
 */
export function describeNchan(name: string, fn: () => void): void {
  const missing = nchanMissing();
  if (missing !== null && process.env.RTBENCH_REQUIRE_NCHAN !== "1") {
    describe.skip(`${name} (skipped: ${missing}; set RTBENCH_REQUIRE_NCHAN=1 to fail instead)`, fn);
    return;
  }
  describe(name, fn);
}
