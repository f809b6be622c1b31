import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, Option } from "commander";
import { parseDuration } from "../../scenario/units.js";
import { provideService } from "../../services/registry.js";
import { BROKER_KINDS, type BrokerKind, brokerInfo, sharedBrokers } from "../../shared/brokers.js";
import { badInput, runFailed } from "../../shared/errors.js";
import {
  buildServerArgs,
  parseReadyLine,
  SERVER_FANOUTS,
  SERVER_READY_PATTERN,
  type ServerFanout,
  type ServerLaunchSettings,
  serverEnv,
} from "../../shared/server-launch.js";
import { type ChildHandle, stopAllChildren } from "../../util/children.js";
import { whenLauncherExits } from "../../util/launcher.js";
import { compiledEntry } from "../../util/paths.js";
import { supervise } from "../../util/supervisor.js";
import { createThrowawayCertificates } from "../../util/throwaway-ca.js";

interface ServeFlags {
  port: string;
  host: string;
  instances: string;
  broker: BrokerKind;
  redisUrl?: string;
  heartbeatInterval: string;
  presenceTtl?: string;
  historyMaxCount: string;
  historyMaxAge: string;
  maxBodyBytes: string;
  fanout: ServerFanout;
  presenceEvents?: boolean;
  presenceBatch: string;
  auth?: string;
  allowOrigin?: string;
  tls?: boolean;
}

/** `rtbench serve`: the reference server as N child processes, up until SIGINT, SIGTERM or SIGHUP. */
export function serveCommand(): Command {
  return new Command("serve")
    .description(
      "start the reference server (one or more instances) and keep it running until Ctrl-C (or SIGTERM, SIGHUP)",
    )
    .option("--port <n>", "port of the first instance; instance i listens on port + i", "8080")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--instances <n>", "number of server processes", "1")
    .addOption(
      new Option("--broker <kind>", "what connects the instances")
        .choices(BROKER_KINDS)
        .default("memory"),
    )
    .option(
      "--redis-url <url>",
      "Redis to use with a redis broker (default: start a redis-server; nats starts a nats-server)",
    )
    .option("--heartbeat-interval <duration>", "WebSocket/SSE heartbeat interval", "30s")
    .option("--presence-ttl <duration>", "how long presence lasts (default: 3 heartbeat intervals)")
    .option("--history-max-count <n>", "messages kept per channel for resume", "1000")
    .option("--history-max-age <duration>", "how long messages are kept for resume", "5m")
    .option("--max-body-bytes <n>", "largest accepted publish body or WebSocket frame", "65536")
    .addOption(
      new Option(
        "--fanout <strategy>",
        "write: push; read: notify, clients fetch; tiered: unread counters for offline members",
      )
        .choices(SERVER_FANOUTS)
        .default("write"),
    )
    .option("--presence-events", "push join/leave events to WebSocket and SSE subscribers")
    .option(
      "--presence-batch <duration>",
      "batch join/leave events per channel over this interval",
      "1s",
    )
    .option(
      "--auth <token>",
      "require Authorization: Bearer <token> on publish, members and admin routes (or set RTBENCH_AUTH)",
    )
    .option(
      "--allow-origin <origins>",
      "browser origins to let in (no other is), comma-separated (https://app.example)",
    )
    .option(
      "--tls",
      "serve HTTPS and wss:// (HTTP/2 by ALPN) with a throwaway CA made now; its certificate's path is printed, and removed at exit",
    )
    .action(async (flags: ServeFlags) => {
      await serve(flags);
    });
}

async function serve(flags: ServeFlags): Promise<void> {
  const port = integerFlag("--port", flags.port, 0, 65_535);
  const instances = integerFlag("--instances", flags.instances, 1, 64);
  if (port !== 0 && port + instances - 1 > 65_535) {
    throw badInput(`--port: ${port} + ${instances} instances goes past port 65535`);
  }
  const settings = instanceSettings(flags);
  // The environment keeps the token out of `ps` for anyone who starts serve that way.
  const auth = flags.auth ?? (process.env.RTBENCH_AUTH || null);
  if (!brokerInfo(flags.broker).shared && instances > 1) {
    process.stderr.write(
      `note: with --broker ${flags.broker} each instance has its own messages; use --broker ${sharedBrokers().join(" or ")} to share them\n`,
    );
  }

  const entry = compiledEntry("reference-server/main.js");
  // Listen for signals from the start, so Ctrl-C during startup still stops what was started.
  const signal = waitForSignal();
  const tls = flags.tls ? throwawayTlsFiles() : null;
  if (tls !== null) {
    settings.tlsCert = tls.cert;
    settings.tlsKey = tls.key;
    process.stderr.write(
      `TLS: a throwaway CA for localhost, 127.0.0.1 and ::1; trust ${tls.ca} (target.tls.ca; curl --http1.1 --cacert: over HTTP/2 only the SSE stream route answers); removed at exit\n`,
    );
  }
  try {
    // --redis-url names a Redis: a nats broker starts its own nats-server all the same.
    const redisUrl = brokerInfo(flags.broker).service === "redis" ? flags.redisUrl : undefined;
    const provided = await provideService(flags.broker, { url: redisUrl });
    if (provided?.started) {
      const { service, started } = provided;
      process.stderr.write(`started ${service.command} (pid ${started.pid}) at ${started.url}\n`);
    }
    const children = await Promise.all(
      Array.from({ length: instances }, (_, i) =>
        startInstance(
          entry,
          i,
          {
            ...settings,
            port: port === 0 ? 0 : port + i,
            brokerUrl: provided?.url ?? null,
            instanceId: `instance-${i + 1}`,
          },
          auth,
        ),
      ),
    );
    for (const { url } of children) process.stdout.write(`${url}\n`);
    process.stderr.write("reference server running; press Ctrl-C to stop\n");

    const outcome = await Promise.race([
      signal.received,
      ...children.map(({ handle }) =>
        handle.exited.then((code): Outcome => ({ kind: "exit", name: handle.name, code })),
      ),
    ]);
    if (outcome.kind === "exit") {
      throw runFailed(`${outcome.name} exited unexpectedly with code ${outcome.code}`);
    }
  } finally {
    signal.dispose();
    await stopAllChildren();
    if (tls !== null) rmSync(tls.dir, { recursive: true, force: true });
  }
}

/** A throwaway CA and certificate in a private temporary directory. */
function throwawayTlsFiles(): { dir: string; cert: string; key: string; ca: string } {
  const made = createThrowawayCertificates();
  const dir = mkdtempSync(join(tmpdir(), "rtbench-serve-tls-"));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  return {
    dir,
    cert: file("cert.pem", made.certPem),
    key: file("key.pem", made.keyPem),
    ca: file("ca.pem", made.caPem),
  };
}

/** What every instance shares, from the flags (port, broker URL and id are per instance). */
function instanceSettings(
  flags: ServeFlags,
): Omit<ServerLaunchSettings, "port" | "brokerUrl" | "instanceId"> {
  return {
    host: flags.host,
    broker: flags.broker,
    heartbeatIntervalMs: durationFlag("--heartbeat-interval", flags.heartbeatInterval),
    // Left to the server when not given: 3 heartbeat intervals.
    presenceTtlMs:
      flags.presenceTtl === undefined ? null : durationFlag("--presence-ttl", flags.presenceTtl),
    history: {
      maxCount: integerFlag(
        "--history-max-count",
        flags.historyMaxCount,
        1,
        Number.MAX_SAFE_INTEGER,
      ),
      maxAgeMs: durationFlag("--history-max-age", flags.historyMaxAge),
    },
    maxBodyBytes: integerFlag("--max-body-bytes", flags.maxBodyBytes, 1, 1 << 30),
    deliveryDelayMs: 0,
    admin: false,
    // No flags for the resource limits: each instance keeps the server's defaults.
    limits: {
      maxBodyDepth: null,
      maxPollBatch: null,
      maxPollBytes: null,
      writeTimeoutMs: null,
      requestTimeoutMs: null,
      maxConnections: null,
      redisCommandTimeoutMs: null,
    },
    h2: { maxStreams: null, idleTimeoutMs: null },
    brokerPrefix: null,
    // Instances of `serve` share their broker; a load balancer in front decides about stickiness.
    routing: "pubsub",
    fanout: flags.fanout,
    presenceEvents: flags.presenceEvents === true,
    idBase: 0,
    presenceBatchMs:
      flags.presenceBatch === "0" ? 0 : durationFlag("--presence-batch", flags.presenceBatch),
    allowOrigins: flags.allowOrigin ?? null,
    tlsCert: null,
    tlsKey: null,
    wsDeflateThreshold: null,
  };
}

async function startInstance(
  entry: string,
  index: number,
  settings: ServerLaunchSettings,
  auth: string | null,
): Promise<{ url: string; handle: ChildHandle }> {
  const name = `reference server instance ${index + 1}`;
  try {
    const { handle, match } = await supervise({
      name,
      command: process.execPath,
      args: [entry, ...buildServerArgs(settings)],
      env: serverEnv(auth),
      readyLine: SERVER_READY_PATTERN,
      scope: "process",
      onStderr: (line) => process.stderr.write(`[instance ${index + 1}] ${line}\n`),
    });
    return { url: parseReadyLine(match[0]) as string, handle };
  } catch (error) {
    throw runFailed(
      `could not start ${name} on port ${settings.port}: ${(error as Error).message}`,
      error,
    );
  }
}

type Outcome = { kind: "signal" } | { kind: "exit"; name: string; code: number | null };

/** Ctrl-C, `kill PID`, a closed terminal. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * Resolves on the first stop signal, or when npx (which does not pass
 * signals on) exited; `dispose` restores the default handlers.
 */
function waitForSignal(): { received: Promise<Outcome>; dispose(): void } {
  let onSignal = () => {};
  const received = new Promise<Outcome>((resolve) => {
    onSignal = () => resolve({ kind: "signal" });
  });
  for (const name of STOP_SIGNALS) process.on(name, onSignal);
  const stopWatching = whenLauncherExits(onSignal);
  return {
    received,
    dispose() {
      for (const name of STOP_SIGNALS) process.off(name, onSignal);
      stopWatching();
    },
  };
}

function integerFlag(flag: string, raw: string, min: number, max: number): number {
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= min && value <= max)) {
    throw badInput(`${flag}: expected an integer from ${min} to ${max}, found "${raw}"`);
  }
  return value;
}

function durationFlag(flag: string, raw: string): number {
  let ms: number;
  try {
    ms = parseDuration(raw);
  } catch (error) {
    throw badInput(`${flag}: ${(error as Error).message}`);
  }
  if (ms < 1) throw badInput(`${flag}: expected a duration of at least 1ms, found "${raw}"`);
  return Math.round(ms);
}
