import { spawnSync } from "node:child_process";
import { describeNeeding } from "./required.js";

/** The programs examples/targets/pushpin/launch.js runs: Pushpin 1.36's services. */
const PROGRAMS = ["pushpin-proxy", "pushpin-handler", "condure", "zurl"];

/** Why Pushpin tests cannot run here, or null when Pushpin's programs are installed. */
export function pushpinMissing(): string | null {
  const missing = PROGRAMS.filter(
    (program) => spawnSync(program, ["--version"], { encoding: "utf8" }).error !== undefined,
  );
  if (missing.length === 0) return null;
  return `${missing.join(", ")} not on PATH (Debian, Ubuntu: apt-get install pushpin)`;
}

/**
 * Declares a suite that runs a real Pushpin (started by rtbench from the
 * scenario's command, with the example origin); skipped without Pushpin,
 * unless RTBENCH_REQUIRE_PUSHPIN=1 (CI), where it fails.
 */
export function describePushpin(name: string, fn: () => void): void {
  describeNeeding(name, pushpinMissing(), "RTBENCH_REQUIRE_PUSHPIN", fn);
}
