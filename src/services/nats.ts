import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../util/net.js";
import type { Supervised } from "../util/supervisor.js";
import { findOnPath } from "../util/which.js";
import { requireCommand, runningService, startServiceProcess } from "./process.js";
import type { BackingService, RunningService, StartServiceOptions } from "./types.js";

const COMMAND = "nats-server";
const INSTALL_HINT =
  "`apt-get install nats-server` (Debian/Ubuntu) or `brew install nats-server` (macOS)";

/**
 * The `nats` broker's backing service: a nats-server on loopback with
 * JetStream, its store in a temporary directory. A restart keeps the port
 * and the directory, so JetStream comes back with what it had stored (unlike
 * Redis without persistence); the directory is removed when it stops for good.
 */
export const natsService: BackingService = {
  name: "nats",
  title: "NATS",
  command: COMMAND,
  urlEnv: "NATS_URL",
  installHint: INSTALL_HINT,
  available: natsServerAvailable,
  start: (options) => startNatsServer(options),
};

/** Whether `nats-server` is an executable somewhere on PATH. */
export function natsServerAvailable(): boolean {
  return findOnPath(COMMAND) !== undefined;
}

export async function startNatsServer(
  options: StartServiceOptions = {},
  /** A store directory to reuse (a restart); a fresh temporary one when absent. */
  storeDir?: string,
): Promise<RunningService> {
  const program = requireCommand(COMMAND, INSTALL_HINT);
  const port = options.port ?? (await freePort());
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
  return runningService(
    child,
    `nats://127.0.0.1:${port}`,
    port,
    () => startNatsServer({ port, readyTimeoutMs: options.readyTimeoutMs }, dir),
    () => rm(dir, { recursive: true, force: true }),
  );
}
