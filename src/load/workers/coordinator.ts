import type { AddressInfo } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";
import { runFailed } from "../../shared/errors.js";
import { monoMs } from "../../util/clock.js";
import { packageVersion } from "../../util/paths.js";
import {
  type CoordinatorMessage,
  type Hello,
  type Reports,
  versionMismatch,
  type WorkerMessage,
} from "./protocol.js";

/** A worker silent this long (it heartbeats every second) is counted as gone. */
export const HEARTBEAT_TIMEOUT_MS = 5000;
/** A connection that says nothing this long after opening is not a worker. */
const HELLO_TIMEOUT_MS = 10_000;

/** One connected worker, as the coordinator sees it. */
export class WorkerLink {
  /** "worker 2". */
  readonly name: string;
  lastHeardMs = monoMs();
  open = 0;
  received = 0;
  /** Bytes of control messages received from and sent to the worker (payloads). */
  bytesIn = 0;
  bytesOut = 0;
  /** Why it is gone; null while it is alive. */
  gone: string | null = null;
  /** Resolvers of the next `prepared` / `reports`. */
  onPrepared: (() => void) | null = null;
  onReports: ((reports: Reports) => void) | null = null;
  /** Called once when the worker is counted as gone. */
  onGone: (() => void) | null = null;

  constructor(
    readonly index: number,
    readonly host: string,
    readonly pid: number,
    private readonly socket: WebSocket,
  ) {
    this.name = `worker ${index}`;
  }

  send(message: CoordinatorMessage): void {
    if (this.gone === null && this.socket.readyState === this.socket.OPEN) {
      const text = JSON.stringify(message);
      this.bytesOut += Buffer.byteLength(text);
      this.socket.send(text);
    }
  }

  /** Counts the worker as gone, with why, and drops its connection. */
  lose(reason: string): void {
    if (this.gone !== null) return;
    this.gone = reason;
    this.socket.terminate();
    this.onGone?.();
  }

  /** Ends a worker's part: it exits 0. */
  release(): void {
    this.send({ type: "done" });
    this.gone = "released";
    this.socket.close();
  }
}

/**
 * The coordinator's end of the control connections: takes in the workers
 * (checking their version, giving each an index), answers their clock
 * exchanges on the run's clock, and notices a worker that died or went silent.
 */
export class WorkerHub {
  readonly links: (WorkerLink | null)[];
  /**
   * Where the run's servers must listen for the workers to reach them; null:
   * loopback (workers on this host without namespaces, or servers they reach themselves).
   */
  serverHost: string | null = null;
  private readonly joined: (() => void)[] = [];
  private readonly watchdog: NodeJS.Timeout;

  private constructor(
    private readonly server: WebSocketServer,
    readonly expected: number,
    private readonly log: (line: string) => void,
  ) {
    this.links = Array.from({ length: expected }, () => null);
    server.on("connection", (socket, request) =>
      this.admit(socket, request.socket.remoteAddress ?? "?"),
    );
    this.watchdog = setInterval(() => this.checkHeartbeats(), 500);
  }

  /** Listens on `host:port` (port 0: any free port) for `expected` workers. */
  static async listen(
    host: string,
    port: number,
    expected: number,
    log: (line: string) => void,
  ): Promise<WorkerHub> {
    const server = new WebSocketServer({ host, port, maxPayload: 1 << 30 });
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", (error) =>
        reject(runFailed(`--coordinator-listen ${host}:${port}: ${error.message}`)),
      );
    });
    return new WorkerHub(server, expected, log);
  }

  /** ws://host:port the workers connect to (0.0.0.0 is named as itself: a worker dials its own address). */
  get url(): string {
    const address = this.server.address() as AddressInfo;
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    return `ws://${host}:${address.port}`;
  }

  /** The workers alive now. */
  alive(): WorkerLink[] {
    return this.links.filter((l): l is WorkerLink => l !== null && l.gone === null);
  }

  /**
   * Resolves once every worker connected; rejects (exit 3) after `timeoutMs`
   * naming how many came, or at once when `signal` aborts.
   */
  async waitForWorkers(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const count = () => this.links.filter((l) => l !== null).length;
    if (count() >= this.expected) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          runFailed(
            `${count()} of ${this.expected} workers connected to ${this.url} within ${Math.round(timeoutMs / 1000)} s (--worker-wait)`,
          ),
        );
      }, timeoutMs);
      const check = () => {
        if (count() >= this.expected) {
          clearTimeout(timer);
          resolve();
        }
      };
      this.joined.push(check);
      signal?.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(runFailed("stopped while waiting for workers"));
      });
    });
  }

  /** Tells every worker it is done (they exit 0) and stops listening. */
  async close(): Promise<void> {
    clearInterval(this.watchdog);
    for (const link of this.alive()) link.release();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private admit(socket: WebSocket, address: string): void {
    let link: WorkerLink | null = null;
    const helloTimer = setTimeout(() => socket.terminate(), HELLO_TIMEOUT_MS);
    socket.on("message", (data) => {
      // The clock is read first: anything before it would lengthen the exchange's round trip.
      const t1 = monoMs();
      const message = JSON.parse(String(data)) as WorkerMessage;
      if (link === null) {
        clearTimeout(helloTimer);
        if (message.type !== "hello") return socket.terminate();
        link = this.welcome(socket, message, address);
        return;
      }
      link.lastHeardMs = t1;
      link.bytesIn += (data as Buffer).length;
      switch (message.type) {
        case "time":
          link.send({ type: "time", t0: message.t0, t1 });
          return;
        case "heartbeat":
          link.open = message.open;
          link.received = message.received;
          return;
        case "prepared":
          link.onPrepared?.();
          return;
        case "reports":
          link.onReports?.(message);
          return;
      }
    });
    socket.on("close", () => {
      clearTimeout(helloTimer);
      link?.lose("its control connection closed (the worker died or its host went away)");
    });
    socket.on("error", () => {});
  }

  private welcome(socket: WebSocket, hello: Hello, address: string): WorkerLink | null {
    const refuse = (reason: string) => {
      this.log(`refused a worker from ${address} (${hello.host} pid ${hello.pid}): ${reason}`);
      socket.send(JSON.stringify({ type: "refused", reason } satisfies CoordinatorMessage));
      socket.close();
      return null;
    };
    const mismatch = versionMismatch(packageVersion(), hello.version);
    if (mismatch) return refuse(mismatch);
    let index = hello.index;
    if (index === null) {
      index = this.links.indexOf(null);
      if (index < 0) return refuse(`all ${this.expected} workers are connected already`);
    } else if (!Number.isInteger(index) || index < 0 || index >= this.expected) {
      return refuse(`index ${index} is not one of 0..${this.expected - 1}`);
    } else if (this.links[index] !== null) {
      return refuse(`index ${index} is taken by another worker`);
    }
    const link = new WorkerLink(index, hello.host, hello.pid, socket);
    this.links[index] = link;
    link.send({
      type: "welcome",
      version: packageVersion(),
      index,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    });
    this.log(`${link.name} joined from ${hello.host} at ${address} (pid ${hello.pid})`);
    for (const check of this.joined) check();
    return link;
  }

  private checkHeartbeats(): void {
    const now = monoMs();
    for (const link of this.alive()) {
      if (now - link.lastHeardMs > HEARTBEAT_TIMEOUT_MS) {
        link.lose(`stopped heartbeating (nothing for ${HEARTBEAT_TIMEOUT_MS / 1000} s)`);
      }
    }
  }
}
