import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { RtbenchError } from "../shared/errors.js";
import { type ChildHandle, startChild } from "./children.js";
import { freePort } from "./net.js";

/** A redis-server rtbench started on loopback, without persistence. */
export interface RedisServer {
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Stops it by its PID (SIGTERM, then SIGKILL). Safe to call twice. */
  stop(): Promise<void>;
  /**
   * Stops it if it still runs, then starts a fresh redis-server on the same
   * port (fault injection: "Redis restarts"). The data is gone afterwards:
   * persistence is off.
   */
  restart(): Promise<RedisServer>;
}

export interface StartRedisServerOptions {
  /** Port on 127.0.0.1; a free one when omitted. */
  port?: number;
  readyTimeoutMs?: number;
}

const NOT_INSTALLED =
  "redis-server is not installed; install it with `apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS)";

/** Whether `redis-server` is an executable somewhere on PATH. */
export function redisServerAvailable(): boolean {
  return findOnPath("redis-server") !== undefined;
}

export async function startRedisServer(
  options: StartRedisServerOptions = {},
): Promise<RedisServer> {
  const command = findOnPath("redis-server");
  if (command === undefined) throw new RtbenchError("RUN_FAILED", NOT_INSTALLED);
  const port = options.port ?? (await freePort());
  let handle: ChildHandle;
  try {
    ({ handle } = await startChild({
      name: `redis-server on port ${port}`,
      command,
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
    }));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new RtbenchError(
      "RUN_FAILED",
      `could not start redis-server on port ${port}: ${reason}`,
      {
        cause: error,
      },
    );
  }
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: handle.pid,
    stop: () => handle.stop("SIGTERM", 5000),
    restart: async () => {
      await handle.stop("SIGTERM", 5000);
      return startRedisServer({ port, readyTimeoutMs: options.readyTimeoutMs });
    },
  };
  return server;
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}
