import { freePort } from "../util/net.js";
import { findOnPath } from "../util/which.js";
import { requireCommand, runningService, startServiceProcess } from "./process.js";
import type { BackingService, RunningService, StartServiceOptions } from "./types.js";

const COMMAND = "redis-server";
const INSTALL_HINT =
  "`apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS)";

/** The `redis` broker's backing service: a redis-server on loopback, without persistence. */
export const redisService: BackingService = {
  name: "redis",
  title: "Redis",
  command: COMMAND,
  urlEnv: "REDIS_URL",
  installHint: INSTALL_HINT,
  available: redisServerAvailable,
  start: startRedisServer,
};

/** Whether `redis-server` is an executable somewhere on PATH. */
export function redisServerAvailable(): boolean {
  return findOnPath(COMMAND) !== undefined;
}

export async function startRedisServer(options: StartServiceOptions = {}): Promise<RunningService> {
  const program = requireCommand(COMMAND, INSTALL_HINT);
  const port = options.port ?? (await freePort());
  const child = await startServiceProcess({
    command: COMMAND,
    port,
    program,
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--daemonize",
      "no",
      // Benchmarks publish bursts; a client falling behind must not be cut off by the default limits.
      "--client-output-buffer-limit",
      "pubsub 0 0 0",
    ],
    readyPattern: /Ready to accept connections/,
    readyTimeoutMs: options.readyTimeoutMs ?? 15_000,
  });
  return runningService(child, `redis://127.0.0.1:${port}`, port, () =>
    startRedisServer({ port, readyTimeoutMs: options.readyTimeoutMs }),
  );
}
