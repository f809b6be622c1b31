import type { ProxyKind } from "../../src/scenario/types.js";
import { findOnPath } from "../../src/util/which.js";
import { describeNeeding } from "./required.js";

/**
 * Declares a suite that runs a real nginx or HAProxy in front of the
 * reference instances; skipped when the program is not installed, unless
 * RTBENCH_REQUIRE_PROXY=1 (CI), where it fails.
 */
export function describeProxy(kind: ProxyKind, name: string, fn: () => void): void {
  const missing = findOnPath(kind) === undefined ? `${kind} is not on PATH` : null;
  describeNeeding(name, missing, "RTBENCH_REQUIRE_PROXY", fn);
}
