/**
 * A reverse proxy (`server.proxy`) that rtbench starts in front of the
 * reference instances: nginx or HAProxy from the OS packages, as
 * redis-server is for the broker. Its config lives in a scratch directory
 * removed at the end; its process group is stopped at the end and on Ctrl-C
 * (util/supervisor.ts); clients and publishers connect to it.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ProxyOptions } from "../scenario/types.js";
import { requireCommand } from "../services/process.js";
import { runFailed } from "../shared/errors.js";
import type { ChildHandle } from "../util/children.js";
import { freePort, tcpConnectError } from "../util/net.js";
import { sampleProcessGroups } from "../util/proc.js";
import { type Supervised, supervise } from "../util/supervisor.js";
import { haproxyConfig, nginxConfig, type ProxyConfigInput, type ProxyTls } from "./configs.js";

export interface RunningProxy {
  /** What clients connect to, `http://127.0.0.1:PORT` (https with server.proxy.tls). */
  url: string;
  /** The proxy's process (the group leader: nginx's master, HAProxy itself). */
  handle: ChildHandle;
  /** Stops the proxy's process group and removes its scratch directory. */
  stop(): Promise<void>;
}

interface ProxyProgram {
  command: string;
  installHint: string;
  config(input: ProxyConfigInput): string;
  /** The command line that runs `file` in the foreground. */
  args(file: string, dir: string): string[];
}

const PROGRAMS: Record<ProxyOptions["kind"], ProxyProgram> = {
  nginx: {
    command: "nginx",
    installHint: "apt-get install nginx (Debian, Ubuntu) or your system's package",
    config: nginxConfig,
    // -e: the error log before the config is read (the default path may not be writable).
    args: (file, dir) => ["-c", file, "-p", `${dir}/`, "-e", join(dir, "error.log")],
  },
  haproxy: {
    command: "haproxy",
    installHint: "apt-get install haproxy (Debian, Ubuntu) or your system's package",
    config: haproxyConfig,
    // -db: foreground, no daemon; the process is ours to sample and stop.
    args: (file) => ["-db", "-f", file],
  },
};

const STARTED_LINE = "rtbench-proxy-started";
const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3000;

/** Starts the proxy on a free 127.0.0.1 port in front of `instanceUrls`; resolves once it accepts connections. */
export async function startProxy(
  options: ProxyOptions,
  instanceUrls: readonly string[],
  log: (line: string) => void = () => {},
  tls: ProxyTls = { front: null, upstreamCa: null },
): Promise<RunningProxy> {
  const program = PROGRAMS[options.kind];
  const path = requireCommand(program.command, program.installHint);
  const dir = await mkdtemp(join(tmpdir(), `rtbench-proxy-${options.kind}-`));
  const port = await freePort();
  const file = join(dir, `${options.kind}.conf`);
  const upstreams = instanceUrls.map((url) => new URL(url).host);
  const asRoot = process.getuid?.() === 0;
  // HAProxy reads the certificate and its key from one file.
  const front = tls.front && {
    ...tls.front,
    pem: join(dir, "front.pem"),
  };
  if (front !== null) {
    const [cert, key] = await Promise.all([
      readFile(front.cert, "utf8"),
      readFile(front.key, "utf8"),
    ]);
    await writeFile(front.pem, `${cert.trimEnd()}\n${key}`, { mode: 0o600 });
  }
  await writeFile(
    file,
    program.config({ options, port, upstreams, dir, asRoot, front, upstreamCa: tls.upstreamCa }),
  );
  const name = `${options.kind} proxy on port ${port}`;
  let child: Supervised;
  try {
    child = await supervise({
      name,
      command: "/bin/sh",
      // The wrapper's line says the process is up; listening is the probe.
      args: ["-c", `echo ${STARTED_LINE}; exec "$0" "$@"`, path, ...program.args(file, dir)],
      readyLine: new RegExp(`^${STARTED_LINE}$`),
      // nginx's master and its workers.
      scope: "tree",
      onStderr: (line) => log(`${name}: ${line}`),
      probe: {
        ready: async () => (await tcpConnectError("127.0.0.1", port)) === null,
        timeoutMs: START_TIMEOUT_MS,
        intervalMs: 50,
        exited: (code, tail) => `it exited with code ${code}: ${tail.slice(-5).join("\n")}`,
        timedOut: () => `no connection on port ${port} within ${START_TIMEOUT_MS} ms`,
      },
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw runFailed(`could not start ${name}: ${(error as Error).message}`, error);
  }
  log(`started ${name} in front of ${upstreams.join(", ")}`);
  return {
    url: `${front ? "https" : "http"}://127.0.0.1:${port}`,
    handle: child.handle,
    stop: async () => {
      await child.stop("SIGTERM", STOP_GRACE_MS);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The proxy's CPU seconds and resident memory (its whole process group); null where /proc cannot be read. */
export function sampleProxy(proxy: RunningProxy): { cpuSeconds: number; rssBytes: number } | null {
  const samples = sampleProcessGroups([proxy.handle.pid]);
  const sample = samples?.get(proxy.handle.pid);
  return sample ? { cpuSeconds: sample.cpuSeconds, rssBytes: sample.rssBytes } : null;
}
