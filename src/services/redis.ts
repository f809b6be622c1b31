import { Redis } from "ioredis";
import { errorText } from "../shared/errors.js";
import { freePort } from "../util/net.js";
import { findOnPath } from "../util/which.js";
import { requireCommand, runningService, startServiceProcess } from "./process.js";
import type {
  BackingService,
  OperationCounts,
  RunningService,
  StartServiceOptions,
} from "./types.js";

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
  operationCounts: redisCommandStats,
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
  const url = `redis://127.0.0.1:${port}`;
  return runningService(
    child,
    url,
    port,
    () => redisCommandStats(url),
    () => startRedisServer({ port, readyTimeoutMs: options.readyTimeoutMs }),
  );
}

/** Commands rtbench itself sends to read the counts: not the workload's. */
const OWN_COMMANDS = new Set(["info", "config|resetstat", "quit", "hello", "client|setinfo"]);

/** `cmdstat_hincrby:calls=12,...` lines, as calls by command. */
export function parseCommandStats(info: string): Record<string, number> {
  const ops: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    const command = match[1] as string;
    if (!OWN_COMMANDS.has(command)) ops[command] = Number(match[2]);
  }
  return ops;
}

/**
 * Redis counts every command it ran (commands run inside scripts included)
 * in `INFO commandstats`, on its client port: any Redis at `url` can say.
 */
async function redisCommandStats(url: string): Promise<OperationCounts> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on("error", () => {});
  try {
    await redis.connect();
    return { counts: parseCommandStats(await redis.info("commandstats")) };
  } catch (error) {
    return { counts: null, reason: `INFO commandstats at ${url} failed: ${errorText(error)}` };
  } finally {
    redis.disconnect();
  }
}
