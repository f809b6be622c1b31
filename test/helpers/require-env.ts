import type { BackingService } from "../../src/services/types.js";

/** RTBENCH_REQUIRE_REDIS, RTBENCH_REQUIRE_NATS: set in CI, a missing service fails instead of skipping. */
export function requireEnv(service: BackingService): string {
  return `RTBENCH_REQUIRE_${service.name.toUpperCase()}`;
}
