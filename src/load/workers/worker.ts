import { hostname } from "node:os";
import WebSocket from "ws";
import { errorText } from "../../shared/errors.js";
import { hostMonoMs, sleep } from "../../util/clock.js";
import { packageVersion } from "../../util/paths.js";
import { ShardPool } from "../shards/shards.js";
import { ClockFilter } from "./clock-sync.js";
import {
  type CoordinatorMessage,
  type Heartbeat,
  type Reports,
  versionMismatch,
  type WorkerMessage,
} from "./protocol.js";

/**
 * `rtbench worker`: connects to a coordinator, runs the segment of clients it
 * is given as local shards, relays their progress and reports, and keeps its
 * shards' clocks on the coordinator's (clock-sync.ts).
 */
export interface WorkerOptions {
  /** ws://host:port of the coordinator. */
  url: string;
  /** This worker's index (JOB_COMPLETION_INDEX, --index); null: the coordinator assigns one. */
  index: number | null;
  /** How long to keep trying to reach the coordinator (it may start after the workers). */
  connectTimeoutMs: number;
  log: (line: string) => void;
}

/** The first exchanges come quickly, so the clock is known before the first run begins. */
const FIRST_EXCHANGES = 8;
const FIRST_EXCHANGE_GAP_MS = 25;
/** Then one a second, through the run, to follow drift. */
const EXCHANGE_INTERVAL_MS = 1000;
const HEARTBEAT_INTERVAL_MS = 1000;
const RETRY_CONNECT_MS = 500;

/** Resolves with the exit code: 0 after the coordinator said `done`, 1 with one clear line otherwise. */
export async function runWorker(options: WorkerOptions): Promise<number> {
  const socket = await connect(options.url, options.connectTimeoutMs).catch((error: Error) => {
    options.log(`error: ${error.message}`);
    return null;
  });
  if (socket === null) return 1;
  return new WorkerSession(socket, options).done;
}

/** Tries to open the control connection until `timeoutMs`; rejects with one line saying why. */
async function connect(url: string, timeoutMs: number): Promise<WebSocket> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "no answer";
  for (;;) {
    try {
      return await openOnce(url, Math.max(100, deadline - Date.now()));
    } catch (error) {
      lastError = errorText(error);
    }
    if (Date.now() + RETRY_CONNECT_MS >= deadline) {
      throw new Error(
        `cannot reach the coordinator at ${url} within ${Math.round(timeoutMs / 1000)} s (${lastError})`,
      );
    }
    await sleep(RETRY_CONNECT_MS);
  }
}

function openOnce(url: string, timeoutMs: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { handshakeTimeout: timeoutMs, maxPayload: 1 << 30 });
    socket.once("open", () => {
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (error) => reject(error));
  });
}

/** Hosts that name "this machine" on the coordinator, not an address another machine can dial. */
const COORDINATOR_LOCAL = new Set(["0.0.0.0", "127.0.0.1", "localhost", "[::]", "[::1]"]);

/**
 * A server URL as this worker can reach it: servers the coordinator started
 * on all its addresses (0.0.0.0) or on loopback are on the coordinator's
 * machine, so the worker dials the host it reached the coordinator by. A
 * target's own URLs are left as they are.
 */
export function reachableFrom(serverUrl: string, coordinatorUrl: string): string {
  const url = new URL(serverUrl);
  if (!COORDINATOR_LOCAL.has(url.hostname)) return serverUrl;
  url.hostname = new URL(coordinatorUrl).hostname;
  // URL keeps a trailing "/" the server URLs never had.
  return serverUrl.endsWith("/") ? url.href : url.href.replace(/\/$/, "");
}

class WorkerSession {
  readonly done: Promise<number>;
  private finished!: (code: number) => void;
  private readonly clock = new ClockFilter();
  private pool: ShardPool | null = null;
  /** Messages are handled one after another: `prepare` takes a while, `begin` must wait for it. */
  private queue: Promise<void> = Promise.resolve();
  private name = "worker";
  private offsetMs: number | null = null;
  private boundMs: number | null = null;
  /** The widest bound applied since the current run began. */
  private runBoundMs: number | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private ended = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly options: WorkerOptions,
  ) {
    this.done = new Promise((resolve) => {
      this.finished = resolve;
    });
    socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as CoordinatorMessage;
      // A clock answer is read at once: waiting in the queue would lengthen its round trip.
      if (message.type === "time") this.onTime(message.t0, message.t1);
      else this.queue = this.queue.then(() => this.handle(message)).catch((e) => this.fail(e));
    });
    socket.on("close", () => {
      if (!this.ended) void this.end(1, "error: the coordinator closed the control connection");
    });
    socket.on("error", () => {});
    this.send({
      type: "hello",
      version: packageVersion(),
      index: options.index,
      host: hostname(),
      pid: process.pid,
    });
  }

  private send(message: WorkerMessage): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private async handle(message: CoordinatorMessage): Promise<void> {
    switch (message.type) {
      case "welcome": {
        const mismatch = versionMismatch(message.version, packageVersion());
        if (mismatch) return this.end(1, `error: ${mismatch}`);
        this.name = `worker ${message.index}`;
        this.options.log(`${this.name}: connected to ${this.options.url}`);
        this.startClock();
        this.timers.push(setInterval(() => this.heartbeat(), HEARTBEAT_INTERVAL_MS));
        return;
      }
      case "refused":
        return this.end(1, `error: the coordinator refused this worker: ${message.reason}`);
      case "prepare": {
        await this.pool?.stop();
        this.pool = await ShardPool.start(message.shards);
        if (this.offsetMs !== null) this.pool.setClock(this.offsetMs);
        this.send({ type: "prepared" });
        return;
      }
      case "begin":
        this.runBoundMs = this.boundMs;
        this.pool?.begin({
          ...message.spec,
          urls: message.spec.urls.map((url) => reachableFrom(url, this.options.url)),
        });
        return;
      case "pause":
        this.pool?.pause();
        return;
      case "resume":
        this.pool?.resume();
        return;
      case "broker-back":
        this.pool?.brokerBack(message.action, message.atMs);
        return;
      case "finish": {
        const taken = this.pool
          ? await this.pool.finish(message.uncounted, message.timeoutMs)
          : { reports: [], missing: [] };
        const reports: Reports = {
          type: "reports",
          reports: taken.reports,
          missing: taken.missing.map((m) => ({ ...m, name: `${this.name} ${m.name}` })),
          clock:
            this.offsetMs === null
              ? null
              : { offsetMs: this.offsetMs, boundMs: this.runBoundMs ?? (this.boundMs as number) },
        };
        this.send(reports);
        return;
      }
      case "stop":
        await this.pool?.stop();
        this.pool = null;
        return;
      case "done":
        return this.end(0, null);
    }
  }

  private startClock(): void {
    for (let i = 0; i < FIRST_EXCHANGES; i++) {
      this.timers.push(setTimeout(() => this.askTime(), i * FIRST_EXCHANGE_GAP_MS));
    }
    this.timers.push(setInterval(() => this.askTime(), EXCHANGE_INTERVAL_MS));
  }

  private askTime(): void {
    this.send({ type: "time", t0: hostMonoMs() });
  }

  private onTime(t0: number, t1: number): void {
    this.clock.add({ t0, t1, t3: hostMonoMs() });
    const best = this.clock.best();
    if (best === null) return;
    this.offsetMs = best.offsetMs;
    this.boundMs = best.boundMs;
    if (this.runBoundMs !== null) this.runBoundMs = Math.max(this.runBoundMs, best.boundMs);
    this.pool?.setClock(best.offsetMs);
  }

  private heartbeat(): void {
    const totals = this.pool?.totals() ?? { open: 0, received: 0 };
    const beat: Heartbeat = {
      type: "heartbeat",
      ...totals,
      offsetMs: this.offsetMs,
      boundMs: this.boundMs,
    };
    this.send(beat);
  }

  private fail(error: unknown): Promise<void> {
    return this.end(1, `error: ${errorText(error)}`);
  }

  private async end(code: number, line: string | null): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    for (const timer of this.timers) clearTimeout(timer);
    if (line !== null) this.options.log(line);
    await this.pool?.stop();
    this.socket.close();
    this.finished(code);
  }
}
