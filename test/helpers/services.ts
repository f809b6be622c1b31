import { afterAll, beforeAll, describe, it } from "vitest";
import type { BackingService, RunningService } from "../../src/services/types.js";
import { requireEnv } from "./require-env.js";

/** The suite's backing service (redis-server, nats-server), valid inside tests and hooks. */
export interface ServiceFixture {
  readonly url: string;
  readonly port: number;
  /** Stops it and starts it again on the same port (Redis loses its data; NATS keeps its store). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function skipReason(service: BackingService): string {
  return `skipped: ${service.command} is not on PATH; set ${requireEnv(service)}=1 to fail instead`;
}

function skipped(service: BackingService): boolean {
  return !service.available() && process.env[requireEnv(service)] !== "1";
}

/**
 * Declares a suite that needs a real `service`. One process is started per
 * suite on a free port and stopped afterwards.
 *
 * Without its program on PATH the suite is skipped, and says so in its name,
 * unless RTBENCH_REQUIRE_<NAME>=1 (CI), where a missing service fails loudly.
 */
export function describeService(
  service: BackingService,
  name: string,
  fn: (fixture: ServiceFixture) => void,
): void {
  let server: RunningService | undefined;
  const current = (): RunningService => {
    if (!server) throw new Error(`${service.command} is not running (see the suite's beforeAll)`);
    return server;
  };
  const fixture: ServiceFixture = {
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

  if (skipped(service)) {
    describe.skip(`${name} (${skipReason(service)})`, () => fn(fixture));
    return;
  }
  describe(name, () => {
    beforeAll(async () => {
      // When required but missing, this throws "<command> is not installed; install it with ...".
      server = await service.start();
    });
    afterAll(async () => {
      await server?.stop();
    });
    fn(fixture);
  });
}

/**
 * A single test that needs `service`'s program on PATH (it starts its own):
 * skipped with the reason in its name when missing, unless required.
 */
export function itService(
  service: BackingService,
  name: string,
  fn: () => Promise<void>,
  timeoutMs?: number,
): void {
  if (skipped(service)) {
    it.skip(`${name} (${skipReason(service)})`, fn);
    return;
  }
  it(name, fn, timeoutMs);
}
