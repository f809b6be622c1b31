/**
 * Process entry for one reference-server instance (`dist/reference-server/main.js`).
 * Parents (`rtbench serve`, `rtbench run`) wait for the "listening" line on stdout.
 */
import { readFileSync } from "node:fs";
import { badInput, EXIT_CODES, errorText, RtbenchError } from "../src/shared/errors.js";
import {
  AUTH_TOKEN_ENV,
  formatReadyLine,
  parseServerArgs,
  type ServerRouting,
  serverUsage,
} from "../src/shared/server-launch.js";
import { createBroker } from "./broker/registry.js";
import { DEFAULT_HISTORY } from "./broker/types.js";
import { collectAfterRelease } from "./gc.js";
import { type ReferenceServerOptions, startReferenceServer } from "./index.js";
import { MAX_BODY_DEPTH_LIMIT } from "./limits.js";
import type { ServerTlsOptions } from "./tls.js";

async function main(): Promise<void> {
  const args = parseServerArgs(process.argv.slice(2));
  const history = { ...DEFAULT_HISTORY, ...args.history };
  const { redisCommandTimeoutMs, ...limits } = args.limits ?? {};
  const routing = args.routing ?? "pubsub";
  const fanout = args.fanout ?? "write";
  const broker = await createBroker(args.broker ?? "memory", {
    url: args.brokerUrl ?? null,
    limits: history,
    commandTimeoutMs: redisCommandTimeoutMs ?? undefined,
    keyPrefix: brokerKeyPrefix(args.brokerPrefix ?? null, routing, args.instanceId),
    unreadCounters: fanout === "tiered",
    idBase: args.idBase ?? 0,
    onReleased: collectAfterRelease(),
  });
  if ((limits.maxBodyDepth ?? 0) > MAX_BODY_DEPTH_LIMIT) {
    throw badInput(`--max-body-depth: expected at most ${MAX_BODY_DEPTH_LIMIT}`);
  }

  const options: ReferenceServerOptions = {
    port: args.port ?? 0,
    host: args.host ?? "127.0.0.1",
    broker,
    history,
    heartbeatIntervalMs: args.heartbeatIntervalMs,
    presenceTtlMs: args.presenceTtlMs ?? undefined,
    maxBodyBytes: args.maxBodyBytes,
    deliveryDelayMs: args.deliveryDelayMs,
    instanceId: args.instanceId,
    admin: args.admin ?? false,
    // Absent limits keep the server's defaults (reference-server/limits.ts).
    ...withoutNulls(limits),
    routing,
    fanout,
    presenceEvents: args.presenceEvents ?? false,
    presenceBatchMs: args.presenceBatchMs,
    h2: withoutNulls(args.h2 ?? {}),
    auth: process.env[AUTH_TOKEN_ENV] || null,
    allowOrigins: args.allowOrigins?.split(",").filter((origin) => origin !== "") ?? [],
    tls: readTlsFiles(args.tlsCert ?? null, args.tlsKey ?? null),
    wsDeflateThreshold: args.wsDeflateThreshold ?? null,
  };
  const server = await startReferenceServer(options);
  process.stdout.write(`${formatReadyLine(server.url)}\n`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // startReferenceServer does not close a broker it was given; this process owns it.
    const done = server.close().then(() => broker.close());
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

/** The certificate and key (PEM) named by --tls-cert and --tls-key; both or neither. */
function readTlsFiles(cert: string | null, key: string | null): ServerTlsOptions | undefined {
  if (cert === null && key === null) return undefined;
  if (cert === null || key === null) throw badInput("--tls-cert and --tls-key go together");
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file, "utf8");
    } catch (error) {
      throw badInput(`${flag}: cannot read ${file}: ${(error as Error).message}`);
    }
  };
  return { cert: read("--tls-cert", cert), key: read("--tls-key", key) };
}

function withoutNulls<T extends Record<string, number | null | undefined>>(
  values: T,
): { [K in keyof T]?: number } {
  return Object.fromEntries(
    Object.entries(values).filter(([, value]) => value !== null && value !== undefined),
  ) as { [K in keyof T]?: number };
}

/**
 * With sticky routing an instance shares nothing with the others: in a shared
 * Redis its keys and pub/sub channels get a prefix of their own.
 */
function brokerKeyPrefix(
  prefix: string | null,
  routing: ServerRouting,
  instanceId: string | undefined,
): string | null {
  if (routing !== "sticky") return prefix;
  return `${prefix ?? "rtbench:"}instance-${instanceId ?? process.pid}:`;
}

main().catch((error: unknown) => {
  process.stderr.write(`rtbench-server: ${errorText(error)}\n`);
  if (error instanceof RtbenchError && error.code === "BAD_INPUT")
    process.stderr.write(`usage: main.js ${serverUsage()}\n`);
  process.exit(error instanceof RtbenchError ? EXIT_CODES[error.code] : EXIT_CODES.RUN_FAILED);
});
