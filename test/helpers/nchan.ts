import { spawnSync } from "node:child_process";
import { loadNchanModule } from "../../src/targets/nchan.js";
import { describeNeeding } from "./required.js";

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
 * scenario's command); skipped without nginx or its module, unless
 * RTBENCH_REQUIRE_NCHAN=1 (CI), where it fails.
 */
export function describeNchan(name: string, fn: () => void): void {
  describeNeeding(name, nchanMissing(), "RTBENCH_REQUIRE_NCHAN", fn);
}
