import { SERVICES } from "../src/services/registry.js";
import { requireEnv } from "./helpers/require-env.js";

/**
 * Says once, at the top of the run, why the tests of a backing service
 * (redis-server, nats-server) will be skipped: the reporter only counts
 * skipped tests, and a skip nobody sees is a gap nobody fixes. With
 * RTBENCH_REQUIRE_REDIS=1 / RTBENCH_REQUIRE_NATS=1 (CI) those tests fail instead.
 */
export default function setup(): void {
  for (const service of Object.values(SERVICES)) {
    if (service.available()) continue;
    const env = requireEnv(service);
    const required = process.env[env] === "1";
    process.stderr.write(
      required
        ? `\n${service.command} is not on PATH and ${env}=1: the ${service.title} tests will fail.\n\n`
        : `\n${service.command} is not on PATH: the ${service.title} tests are SKIPPED (${service.installHint}; ${env}=1 makes this a failure).\n\n`,
    );
  }
}
