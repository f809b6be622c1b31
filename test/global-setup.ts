import { redisServerAvailable } from "../src/services/redis.js";

/**
 * Says once, at the top of the run, why Redis tests will be skipped: the
 * reporter only counts skipped tests, and a skip nobody sees is a gap nobody
 * fixes. With RTBENCH_REQUIRE_REDIS=1 (CI) those tests fail instead.
 */
export default function setup(): void {
  if (redisServerAvailable()) return;
  const required = process.env.RTBENCH_REQUIRE_REDIS === "1";
  process.stderr.write(
    required
      ? "\nredis-server is not on PATH and RTBENCH_REQUIRE_REDIS=1: the Redis tests will fail.\n\n"
      : "\nredis-server is not on PATH: the Redis tests are SKIPPED (apt-get install redis-server, or brew install redis; RTBENCH_REQUIRE_REDIS=1 makes this a failure).\n\n",
  );
}
