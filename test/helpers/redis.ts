import { redisService } from "../../src/services/redis.js";
import { describeService, itService, type ServiceFixture } from "./services.js";

/** The suite's redis-server, valid inside tests and hooks (after the suite's beforeAll). */
export type RedisFixture = ServiceFixture;

/**
 * Declares a suite that needs a real redis-server. One server is started per
 * suite on a free port and stopped afterwards (restart: its data is gone).
 *
 * Without redis-server on PATH the suite is skipped, and says so in its name,
 * unless RTBENCH_REQUIRE_REDIS=1 (CI), where a missing Redis fails loudly.
 */
export function describeRedis(name: string, fn: (redis: RedisFixture) => void): void {
  describeService(redisService, name, fn);
}

/**
 * A single test that needs redis-server on PATH (it starts its own): skipped
 * with the reason in its name when missing, unless RTBENCH_REQUIRE_REDIS=1.
 */
export function itRedis(name: string, fn: () => Promise<void>, timeoutMs?: number): void {
  itService(redisService, name, fn, timeoutMs);
}
