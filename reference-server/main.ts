/**
 * Process entry for one reference-server instance (`dist/reference-server/main.js`).
 * Parents (`rtbench serve`, `rtbench run`) wait for the "listening" line on stdout.
 */
import { parseArgs } from "node:util";
import { badInput, EXIT_CODES, RtbenchError } from "../src/shared/errors.js";
import type { Broker } from "./broker/types.js";
import { DEFAULT_HISTORY } from "./broker/types.js";
import {
  type ReferenceServerOptions,
  type ServerLimitOptions,
  startReferenceServer,
} from "./index.js";
import { MAX_BODY_DEPTH_LIMIT } from "./limits.js";

const USAGE =
  "usage: main.js [--port N] [--host H] [--broker memory|redis] [--redis-url URL] " +
  "[--heartbeat-interval-ms N] [--presence-ttl-ms N] [--history-max-count N] " +
  "[--history-max-age-ms N] [--max-body-bytes N] [--delivery-delay-ms N] [--instance-id S] " +
  "[--admin] [--max-body-depth N] [--max-poll-batch N] [--max-poll-bytes N] " +
  "[--write-timeout-ms N] [--request-timeout-ms N] [--max-connections N] " +
  "[--redis-command-timeout-ms N]";

async function main(): Promise<void> {
  const { values } = parseFlags();

  const brokerKind = values.broker ?? "memory";
  if (brokerKind !== "memory" && brokerKind !== "redis") {
    throw badInput(`--broker: expected memory or redis, found ${JSON.stringify(brokerKind)}`);
  }
  const history = {
    maxCount:
      integer(values["history-max-count"], "--history-max-count", 1) ?? DEFAULT_HISTORY.maxCount,
    maxAgeMs:
      integer(values["history-max-age-ms"], "--history-max-age-ms", 1) ?? DEFAULT_HISTORY.maxAgeMs,
  };
  let broker: Broker | undefined;
  if (brokerKind === "redis") {
    const url = values["redis-url"];
    if (!url) throw badInput("--broker redis needs --redis-url redis://host:port");
    const { createRedisBroker } = await import("./broker/redis.js");
    broker = await createRedisBroker({
      url,
      limits: history,
      commandTimeoutMs: integer(
        values["redis-command-timeout-ms"],
        "--redis-command-timeout-ms",
        1,
      ),
    });
  }

  const options: ReferenceServerOptions = {
    port: integer(values.port, "--port", 0) ?? 0,
    host: values.host ?? "127.0.0.1",
    broker,
    history,
    heartbeatIntervalMs: integer(values["heartbeat-interval-ms"], "--heartbeat-interval-ms", 1),
    presenceTtlMs: integer(values["presence-ttl-ms"], "--presence-ttl-ms", 1),
    maxBodyBytes: integer(values["max-body-bytes"], "--max-body-bytes", 1),
    deliveryDelayMs: integer(values["delivery-delay-ms"], "--delivery-delay-ms", 0),
    instanceId: values["instance-id"],
    admin: values.admin ?? false,
    ...limitOptions(values),
  };
  const server = await startReferenceServer(options);
  process.stdout.write(`rtbench-server listening ${server.url}\n`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // startReferenceServer does not close a broker it was given; this process owns it.
    const done = server.close().then(() => broker?.close());
    const deadline = setTimeout(() => process.exit(0), 5000);
    deadline.unref();
    done.then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`rtbench-server: shutdown: ${String(error)}\n`);
        process.exit(0);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

function parseFlags() {
  try {
    return parseArgs({
      options: {
        port: { type: "string" },
        host: { type: "string" },
        broker: { type: "string" },
        "redis-url": { type: "string" },
        "heartbeat-interval-ms": { type: "string" },
        "presence-ttl-ms": { type: "string" },
        "history-max-count": { type: "string" },
        "history-max-age-ms": { type: "string" },
        "max-body-bytes": { type: "string" },
        "delivery-delay-ms": { type: "string" },
        "instance-id": { type: "string" },
        // Fault injection (POST /admin/drop); rtbench run turns it on for the instances it starts.
        admin: { type: "boolean" },
        // Resource limits (ServerLimits); each has a default in limits.ts.
        "max-body-depth": { type: "string" },
        "max-poll-batch": { type: "string" },
        "max-poll-bytes": { type: "string" },
        "write-timeout-ms": { type: "string" },
        "request-timeout-ms": { type: "string" },
        "max-connections": { type: "string" },
        "redis-command-timeout-ms": { type: "string" },
      },
      strict: true,
    });
  } catch (error) {
    throw badInput((error as Error).message);
  }
}

/** The resource-limit flags; absent ones keep their defaults. */
function limitOptions(values: ReturnType<typeof parseFlags>["values"]): ServerLimitOptions {
  return {
    maxBodyDepth: integer(values["max-body-depth"], "--max-body-depth", 1, MAX_BODY_DEPTH_LIMIT),
    maxPollBatch: integer(values["max-poll-batch"], "--max-poll-batch", 1),
    maxPollBytes: integer(values["max-poll-bytes"], "--max-poll-bytes", 1),
    writeTimeoutMs: integer(values["write-timeout-ms"], "--write-timeout-ms", 1),
    requestTimeoutMs: integer(values["request-timeout-ms"], "--request-timeout-ms", 1),
    maxConnections: integer(values["max-connections"], "--max-connections", 1),
  };
}

function integer(
  raw: string | undefined,
  flag: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max || !/^\d+$/.test(raw)) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw badInput(`${flag}: expected an integer ${range}, found ${JSON.stringify(raw)}`);
  }
  return value;
}

main().catch((error: unknown) => {
  process.stderr.write(
    `rtbench-server: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  if (error instanceof RtbenchError && error.code === "BAD_INPUT")
    process.stderr.write(`${USAGE}\n`);
  process.exit(error instanceof RtbenchError ? EXIT_CODES[error.code] : EXIT_CODES.RUN_FAILED);
});
