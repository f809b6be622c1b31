import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { errorText } from "../shared/errors.js";
import { freePort } from "../util/net.js";
import type { Supervised } from "../util/supervisor.js";
import { findOnPath } from "../util/which.js";
import { requireCommand, runningService, startServiceProcess } from "./process.js";
import type {
  BackingService,
  OperationCounts,
  RunningService,
  StartServiceOptions,
} from "./types.js";

const COMMAND = "nats-server";
const INSTALL_HINT =
  "`apt-get install nats-server` (Debian/Ubuntu) or `brew install nats-server` (macOS)";

/**
 * The `nats` broker's backing service: a nats-server on loopback with
 * JetStream, its store in a temporary directory. A restart keeps the port
 * and the directory, so JetStream comes back with what it had stored (unlike
 * Redis without persistence); the directory is removed when it stops for good.
 * NATS counts messages only on its monitoring port, which rtbench opens on a
 * free port of its own beside the client port: the counts of a nats-server
 * rtbench started can be read, those of one it was given (NATS_URL) cannot.
 */
export const natsService: BackingService = {
  name: "nats",
  title: "NATS",
  command: COMMAND,
  urlEnv: "NATS_URL",
  installHint: INSTALL_HINT,
  available: natsServerAvailable,
  start: (options) => startNatsServer(options),
  // One rtbench did not start: its monitoring port, where NATS counts, is unknown.
  operationCounts: async (url) => ({
    counts: null,
    reason: `NATS counts messages only on its monitoring port, which rtbench knows only for a nats-server it started (not ${url})`,
  }),
};

/** Whether `nats-server` is an executable somewhere on PATH. */
export function natsServerAvailable(): boolean {
  return findOnPath(COMMAND) !== undefined;
}

export async function startNatsServer(
  options: StartServiceOptions = {},
  /** A store directory and monitoring port to reuse (a restart); fresh ones when absent. */
  again?: { storeDir: string; monitorPort: number },
): Promise<RunningService> {
  const program = requireCommand(COMMAND, INSTALL_HINT);
  const port = options.port ?? (await freePort());
  let monitorPort = again?.monitorPort ?? (await freePort());
  if (monitorPort === port) monitorPort = await freePort();
  const storeDir = again?.storeDir;
  const dir = storeDir ?? (await mkdtemp(join(tmpdir(), "rtbench-nats-")));
  let child: Supervised;
  try {
    child = await startServiceProcess({
      command: COMMAND,
      port,
      // nats-server logs to stderr; the supervisor looks for the ready line on stdout.
      // `exec` keeps the PID nats-server's own, so stop and SIGSTOP reach it.
      program: "/bin/sh",
      args: [
        "-c",
        'exec "$0" "$@" 2>&1',
        program,
        "-a",
        "127.0.0.1",
        "-p",
        String(port),
        "-m",
        String(monitorPort),
        "-js",
        "-sd",
        dir,
      ],
      readyPattern: /Server is ready/,
      readyTimeoutMs: options.readyTimeoutMs ?? 15_000,
    });
  } catch (error) {
    if (storeDir === undefined) await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const monitor = `http://127.0.0.1:${monitorPort}`;
  return runningService(
    child,
    `nats://127.0.0.1:${port}`,
    port,
    () => natsMessageCounts(monitor),
    () =>
      startNatsServer(
        { port, readyTimeoutMs: options.readyTimeoutMs },
        { storeDir: dir, monitorPort },
      ),
    () => rm(dir, { recursive: true, force: true }),
  );
}

/**
 * Messages the server took in (publishes, JetStream stores, API requests and
 * direct gets) and sent out (fan-out deliveries, acks, replies), from the
 * monitoring port's /varz: NATS's work, as commands are Redis's. Counted
 * since it started; a restart begins again at 0.
 */
async function natsMessageCounts(monitor: string): Promise<OperationCounts> {
  try {
    const response = await fetch(`${monitor}/varz`, { signal: AbortSignal.timeout(5000) });
    const varz = (await response.json()) as { in_msgs?: unknown; out_msgs?: unknown };
    if (typeof varz.in_msgs !== "number" || typeof varz.out_msgs !== "number") {
      return { counts: null, reason: `${monitor}/varz has no in_msgs and out_msgs` };
    }
    return { counts: { in_msgs: varz.in_msgs, out_msgs: varz.out_msgs } };
  } catch (error) {
    return { counts: null, reason: `GET ${monitor}/varz failed: ${errorText(error)}` };
  }
}
