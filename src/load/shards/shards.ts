import type { ShardReport, UncountedPublishes } from "../../run-model/shard-report.js";
import type { ControlTraffic, WorkerClock } from "../../run-model/workers.js";
import type { BrokerFaultAction } from "../../scenario/types.js";
import { type ChildHandle, isRunning, startChild } from "../../util/children.js";
import { compiledEntry } from "../../util/paths.js";
import type { ShardBrokerBack, ShardMessage, ShardStart } from "./shard-protocol.js";

/**
 * Where a protocol's clients run: shard processes on this host (ShardPool),
 * or workers on other hosts that run shards of their own (workers/remote-pool.ts).
 */
export interface ClientPool {
  readonly size: number;
  /** Deals the clients of `spec` and starts them. */
  begin(spec: ShardStart): void;
  /** Connections open and messages received, summed over the pool (last progress report). */
  totals(): { open: number; received: number };
  /** Stops the clients and takes the reports; who did not report is named in `missing`. */
  finish(
    uncounted?: UncountedPublishes,
    timeoutMs?: number,
  ): Promise<{ reports: ShardReport[]; missing: MissingShard[] }>;
  pause(): void;
  resume(): void;
  /** A broker fault ended at `atMs` (monotonic ms): the clients time their recovery from it. */
  brokerBack(action: BrokerFaultAction, atMs: number): void;
  stop(): Promise<void>;
  /** Workers' clock offsets and bounds, for the result; absent for local shards. */
  clocks?(): WorkerClock[];
  /** What the workers' control connections cost, once they reported; absent for local shards. */
  controlTraffic?(): ControlTraffic | null;
}

/** Starts a pool of `shards` shard processes' worth of clients. */
export type ClientPoolFactory = (shards: number) => Promise<ClientPool>;

/**
 * The parent's side of the shards: child processes that each run a slice of
 * the clients. Clients are dealt round-robin so every shard ramps up at the
 * same pace.
 */
/** The shard process's entry, relative to dist/ (the package must ship it). */
export const SHARD_ENTRY = "src/load/fleet/shard-main.js";

export class ShardPool implements ClientPool {
  /** What each shard printed on stderr last: a dying shard's own words. */
  private readonly stderrTails: string[][];
  private readonly progress = new Map<number, { open: number; received: number }>();
  private readonly reports = new Map<number, ShardReport>();
  private readonly reported: Promise<void>[];

  private constructor(
    private readonly shards: ChildHandle[],
    stderrTails: string[][],
  ) {
    this.stderrTails = stderrTails;
    this.reported = shards.map(
      (shard, i) =>
        new Promise<void>((resolve) => {
          let grace: NodeJS.Timeout | undefined;
          const done = () => {
            clearTimeout(grace);
            resolve();
          };
          shard.process.on("message", (message: ShardMessage) => {
            if (message.type === "progress") this.progress.set(i, message);
            else if (message.type === "report") {
              this.reports.set(i, message);
              done();
            }
          });
          // A report sent just before exit can arrive after the exit event: give it a
          // moment, and only when it has not arrived (a pending timer holds the CLI's exit).
          void shard.exited.then(() => {
            if (!this.reports.has(i)) grace = setTimeout(done, 1000);
          });
        }),
    );
  }

  static async start(count: number): Promise<ShardPool> {
    const entry = compiledEntry(SHARD_ENTRY);
    const tails = Array.from({ length: count }, () => [] as string[]);
    const started = await Promise.allSettled(
      Array.from({ length: count }, (_, i) =>
        startChild({
          name: `shard ${i}`,
          command: process.execPath,
          args: [entry],
          env: { ...process.env, RTBENCH_SHARD_INDEX: String(i) },
          ipc: true,
          readyPattern: /^rtbench-shard ready$/,
          onStderr: (line) => keepTail(tails[i] as string[], line),
        }),
      ),
    );
    const handles = started.flatMap((s) => (s.status === "fulfilled" ? [s.value.handle] : []));
    const failure = started.find((s) => s.status === "rejected");
    if (failure) {
      await Promise.all(handles.map((h) => h.stop("SIGKILL")));
      throw (failure as PromiseRejectedResult).reason;
    }
    return new ShardPool(handles, tails);
  }

  get size(): number {
    return this.shards.length;
  }

  /** Deals the clients of `spec` over the shards and starts them. */
  begin(spec: ShardStart): void {
    this.shards.forEach((shard, i) => {
      const clients = spec.clients.filter((_, index) => index % this.shards.length === i);
      shard.process.send({ ...spec, clients });
    });
  }

  /** Connections open and messages received, summed over the shards (last progress report). */
  totals(): { open: number; received: number } {
    return sumProgress(this.progress.values());
  }

  /**
   * Asks every shard to stop its clients and report, and waits for the reports
   * (up to `timeoutMs`). A shard that died or did not answer is left out and
   * named in `missing`, with why: its exit and its last words on stderr.
   */
  async finish(
    uncounted: UncountedPublishes = [],
    timeoutMs = 15_000,
  ): Promise<{ reports: ShardReport[]; missing: MissingShard[] }> {
    const missingReasons = new Map<number, string>();
    await Promise.all(
      this.shards.map(async (shard, i) => {
        if (shard.process.connected) shard.process.send({ type: "finish", uncounted });
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          this.reported[i],
          new Promise((resolve) => {
            timer = setTimeout(resolve, timeoutMs);
          }),
        ]);
        // A pending timer would hold the CLI open for the whole timeout after the run.
        clearTimeout(timer);
        if (!this.reports.has(i)) {
          const died = !isRunning(shard);
          const reason = died
            ? exitText(shard, this.stderrTails[i] ?? [])
            : `did not report within ${timeoutMs} ms`;
          missingReasons.set(i, reason);
          await shard.stop("SIGKILL");
        }
      }),
    );
    const reports: ShardReport[] = [];
    const missing: MissingShard[] = [];
    this.shards.forEach((shard, i) => {
      const report = this.reports.get(i);
      if (report) reports.push(report);
      else {
        missing.push({
          name: shard.name,
          reason: missingReasons.get(i) ?? "no report",
          crashed: shard.process.exitCode !== null && shard.process.exitCode !== 0,
        });
      }
    });
    return { reports, missing };
  }

  /** On a worker: every shard's clock follows the coordinator's from now (workers/clock-sync.ts). */
  setClock(offsetMs: number): void {
    for (const shard of this.shards) {
      if (shard.process.connected) shard.process.send({ type: "clock", offsetMs });
    }
  }

  /** SIGSTOP every shard: its connections stay open and answer nothing (zombie clients). */
  pause(): void {
    for (const shard of this.shards) shard.process.kill("SIGSTOP");
  }

  resume(): void {
    for (const shard of this.shards) shard.process.kill("SIGCONT");
  }

  brokerBack(action: BrokerFaultAction, atMs: number): void {
    const message: ShardBrokerBack = { type: "broker-back", action, atMs };
    for (const shard of this.shards) {
      if (shard.process.connected) shard.process.send(message);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.shards.map((shard) => shard.stop("SIGTERM", 2000)));
  }
}

/** Connections open and messages received, summed. */
export function sumProgress(parts: Iterable<{ open: number; received: number }>): {
  open: number;
  received: number;
} {
  let open = 0;
  let received = 0;
  for (const p of parts) {
    open += p.open;
    received += p.received;
  }
  return { open, received };
}

/** A shard that left no report, and why. */
export interface MissingShard {
  name: string;
  /** "died (exit code 1): TypeError: ...", or "did not report within 15000 ms". */
  reason: string;
  /**
   * It exited with an error of its own (a configuration or code error), not
   * killed by a signal (out of memory, SIGKILL) nor too busy to answer: what
   * it says is why the run is invalid, not a sign of rtbench's own load.
   */
  crashed: boolean;
  /**
   * A worker that died or stopped heartbeating: its clients, counted as lost
   * connections; the run goes on without them and ends `partial`. Absent for a shard.
   */
  lostClients?: number;
}

/** A worker that died or stopped heartbeating: a missing part that says how many clients it had. */
export type LostWorker = MissingShard & { lostClients: number };

/** The missing split once by what left: shard processes (no `lostClients`), and whole workers. */
export function splitMissing(missing: readonly MissingShard[]): {
  shards: MissingShard[];
  workers: LostWorker[];
} {
  const shards: MissingShard[] = [];
  const workers: LostWorker[] = [];
  for (const m of missing) {
    if (m.lostClients === undefined) shards.push(m);
    else workers.push({ ...m, lostClients: m.lostClients });
  }
  return { shards, workers };
}

const STDERR_TAIL_LINES = 20;

function keepTail(tail: string[], line: string): void {
  tail.push(line);
  if (tail.length > STDERR_TAIL_LINES) tail.shift();
}

/**
 * How a shard died, in its own words: the exit code or signal and the error
 * lines it printed, without the stack frames (`    at ...`).
 */
function exitText(shard: ChildHandle, stderrTail: string[]): string {
  const { exitCode, signalCode } = shard.process;
  const how = signalCode !== null ? `killed by ${signalCode}` : `exit code ${exitCode}`;
  const lines = stderrTail.filter(
    (line) => line.trim() !== "" && !/^\s+at /.test(line) && !/^Node\.js v/.test(line),
  );
  // An uncaught exception prints the source line and a caret before its own line: keep the error.
  const errors = lines.filter((line) =>
    /^(?:Uncaught )?[A-Za-z]*Error\b|error:/i.test(line.trim()),
  );
  const words = (errors.length > 0 ? errors : lines).slice(-2).join(" / ");
  return `died (${how})${words ? `: ${words}` : ""}`;
}
