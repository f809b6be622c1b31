import { afterAll, beforeAll, describe, it } from "vitest";
import { redisServerAvailable, startRedisServer } from "../../src/services/redis.js";
import type { RunningService } from "../../src/services/types.js";

/** The suite's redis-server, valid inside tests and hooks (after the suite's beforeAll). */
export interface RedisFixture {
  readonly url: string;
  readonly port: number;
  /** Stops it and starts a fresh one on the same port (its data is gone). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const SKIP_REASON =
  "skipped: redis-server is not on PATH; set RTBENCH_REQUIRE_REDIS=1 to fail instead";

/**
 * Declares a suite that needs a real redis-server. One server is started per
 * suite on a free port and stopped afterwards.
 *
 * Without redis-server on PATH the suite is skipped, and says so in its name,
 * unless RTBENCH_REQUIRE_REDIS=1 (CI), where a missing Redis fails loudly.
 */
export function describeRedis(name: string, fn: (redis: RedisFixture) => void): void {
  let server: RunningService | undefined;
  const current = (): RunningService => {
    if (!server) throw new Error("redis-server is not running (see the suite's beforeAll)");
    return server;
  };
  const fixture: RedisFixture = {
    get url() {
      return current().url;
    },
    get port() {
      return current().port;
    },
    restart: async () => {
      server = await current().restart();
    },
    stop: () => current().stop(),
  };

  if (!redisServerAvailable() && process.env.RTBENCH_REQUIRE_REDIS !== "1") {
    describe.skip(`${name} (${SKIP_REASON})`, () => fn(fixture));
    return;
  }
  describe(name, () => {
    beforeAll(async () => {
      // When required but missing, this throws "redis-server is not installed; install it with ...".
      server = await startRedisServer();
    });
    afterAll(async () => {
      await server?.stop();
    });
    fn(fixture);
  });
}

/**
 * A single test that needs redis-server on PATH (it starts its own): skipped
 * with the reason in its name when missing, unless RTBENCH_REQUIRE_REDIS=1.
 */
export function itRedis(name: string, fn: () => Promise<void>, timeoutMs?: number): void {
  if (!redisServerAvailable() && process.env.RTBENCH_REQUIRE_REDIS !== "1") {
    it.skip(`${name} (${SKIP_REASON})`, fn);
    return;
  }
  it(name, fn, timeoutMs);
}
