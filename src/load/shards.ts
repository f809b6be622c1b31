import { type ChildHandle, startChild } from "../util/children.js";
import { compiledEntry } from "../util/paths.js";
import type { ShardMessage, ShardReport, ShardStart } from "./shard-protocol.js";

/**
 * The parent's side of the shards: child processes that each run a slice of
 * the clients. Clients are dealt round-robin so every shard ramps up at the
 * same pace.
 */
export class ShardPool {
  private readonly progress = new Map<number, { open: number; received: number }>();
  private readonly reports = new Map<number, ShardReport>();
  private readonly reported: Promise<void>[];

  private constructor(private readonly shards: ChildHandle[]) {
    this.reported = shards.map(
      (shard, i) =>
        new Promise<void>((resolve) => {
          shard.process.on("message", (message: ShardMessage) => {
            if (message.type === "progress") this.progress.set(i, message);
            else if (message.type === "report") {
              this.reports.set(i, message);
              resolve();
            }
          });
          // A report sent just before exit can arrive after the exit event: give it a moment.
          void shard.exited.then(() => setTimeout(resolve, 1000));
        }),
    );
  }

  static async start(count: number): Promise<ShardPool> {
    const entry = compiledEntry("src/load/shard-main.js");
    const started = await Promise.allSettled(
      Array.from({ length: count }, (_, i) =>
        startChild({
          name: `shard ${i}`,
          command: process.execPath,
          args: [entry],
          ipc: true,
          readyPattern: /^rtbench-shard ready$/,
        }),
      ),
    );
    const handles = started.flatMap((s) => (s.status === "fulfilled" ? [s.value.handle] : []));
    const failure = started.find((s) => s.status === "rejected");
    if (failure) {
      await Promise.all(handles.map((h) => h.stop("SIGKILL")));
      throw (failure as PromiseRejectedResult).reason;
    }
    return new ShardPool(handles);
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
    let open = 0;
    let received = 0;
    for (const p of this.progress.values()) {
      open += p.open;
      received += p.received;
    }
    return { open, received };
  }

  /**
   * Asks every shard to stop its clients and report, and waits for the reports
   * (up to `timeoutMs`). A shard that died or did not answer is left out and
   * named in `missing`.
   */
  async finish(timeoutMs = 15_000): Promise<{ reports: ShardReport[]; missing: string[] }> {
    await Promise.all(
      this.shards.map(async (shard, i) => {
        if (shard.process.connected) shard.process.send({ type: "finish" });
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          this.reported[i],
          new Promise((resolve) => {
            timer = setTimeout(resolve, timeoutMs);
          }),
        ]);
        // A pending timer would hold the CLI open for the whole timeout after the run.
        clearTimeout(timer);
        if (!this.reports.has(i)) await shard.stop("SIGKILL");
      }),
    );
    const reports: ShardReport[] = [];
    const missing: string[] = [];
    this.shards.forEach((shard, i) => {
      const report = this.reports.get(i);
      if (report) reports.push(report);
      else missing.push(shard.name);
    });
    return { reports, missing };
  }

  /** SIGSTOP every shard: its connections stay open and answer nothing (zombie clients). */
  pause(): void {
    for (const shard of this.shards) shard.process.kill("SIGSTOP");
  }

  resume(): void {
    for (const shard of this.shards) shard.process.kill("SIGCONT");
  }

  async stop(): Promise<void> {
    await Promise.all(this.shards.map((shard) => shard.stop("SIGTERM", 2000)));
  }
}
