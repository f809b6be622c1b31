import type { ShardReport, UncountedPublishes } from "../../run-model/shard-report.js";
import type { ControlTraffic, WorkerClock } from "../../run-model/workers.js";
import type { BrokerFaultAction } from "../../scenario/types.js";
import { monoMs } from "../../util/clock.js";
import type { ShardStart } from "../shards/shard-protocol.js";
import {
  type ClientPool,
  type ClientPoolFactory,
  type MissingShard,
  sumProgress,
} from "../shards/shards.js";
import type { WorkerHub, WorkerLink } from "./coordinator.js";
import type { Reports } from "./protocol.js";

/** How long workers get to start their shards. */
const PREPARE_TIMEOUT_MS = 30_000;
/** Beyond the shards' own report timeout: the reports still have to cross the network. */
const REPORT_MARGIN_MS = 5000;

/**
 * One protocol's clients, run by the workers: the coordinator treats it as it
 * treats its own shards (ClientPool). Clients are dealt round-robin over the
 * workers by index, so the union of the segments is exactly the one-machine
 * run; each worker deals its segment over its own shards the same way.
 */
export class RemotePool implements ClientPool {
  private readonly reports = new Map<number, Reports>();
  /** Clients dealt to each worker index. */
  private readonly dealt: number[];

  /** Control bytes and time when the pool started, to tell what a worker costs the coordinator. */
  private readonly startedAt = { ms: monoMs(), bytesIn: 0, bytesOut: 0 };
  private traffic: ControlTraffic | null = null;

  private constructor(
    private readonly hub: WorkerHub,
    private readonly links: WorkerLink[],
  ) {
    this.dealt = hub.links.map(() => 0);
    for (const link of links) {
      this.startedAt.bytesIn += link.bytesIn;
      this.startedAt.bytesOut += link.bytesOut;
    }
  }

  /** A factory for clientsUp: `shards` is the whole run's plan, spread over the workers. */
  static factory(hub: WorkerHub): ClientPoolFactory {
    return (shards) => RemotePool.start(hub, Math.max(1, Math.ceil(shards / hub.expected)));
  }

  static async start(hub: WorkerHub, shardsPerWorker: number): Promise<RemotePool> {
    const links = hub.alive();
    if (links.length === 0) {
      const why = hub.links.map((l, i) => `worker ${i}: ${l?.gone ?? "never connected"}`);
      throw new Error(`no worker is left to run the clients (${why.join("; ")})`);
    }
    await Promise.all(
      links.map(
        (link) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              link.lose(`did not start its shards within ${PREPARE_TIMEOUT_MS / 1000} s`);
            }, PREPARE_TIMEOUT_MS);
            const done = () => {
              clearTimeout(timer);
              link.onPrepared = null;
              link.onGone = null;
              resolve();
            };
            link.onPrepared = done;
            link.onGone = done;
            link.send({ type: "prepare", shards: shardsPerWorker });
          }),
      ),
    );
    return new RemotePool(hub, links);
  }

  get size(): number {
    return this.hub.expected;
  }

  begin(spec: ShardStart): void {
    const workers = this.hub.expected;
    for (let w = 0; w < workers; w++) {
      const clients = spec.clients.filter((_, index) => index % workers === w);
      this.dealt[w] = clients.length;
      this.hub.links[w]?.send({ type: "begin", spec: { ...spec, clients } });
    }
  }

  totals(): { open: number; received: number } {
    return sumProgress(this.links.filter((link) => link.gone === null));
  }

  async finish(
    uncounted: UncountedPublishes = [],
    timeoutMs = 15_000,
  ): Promise<{ reports: ShardReport[]; missing: MissingShard[] }> {
    await Promise.all(
      this.links.map(
        (link) =>
          new Promise<void>((resolve) => {
            if (link.gone !== null) return resolve();
            const timer = setTimeout(() => {
              link.lose(`did not report within ${(timeoutMs + REPORT_MARGIN_MS) / 1000} s`);
            }, timeoutMs + REPORT_MARGIN_MS);
            const done = () => {
              clearTimeout(timer);
              link.onReports = null;
              link.onGone = null;
              resolve();
            };
            link.onReports = (reports) => {
              this.reports.set(link.index, reports);
              done();
            };
            link.onGone = done;
            link.send({ type: "finish", uncounted, timeoutMs });
          }),
      ),
    );
    this.traffic = this.measureTraffic();
    const reports: ShardReport[] = [];
    const missing: MissingShard[] = [];
    this.hub.links.forEach((link, index) => {
      const got = this.reports.get(index);
      if (got) {
        reports.push(...got.reports);
        missing.push(...got.missing);
        return;
      }
      missing.push({
        name: `worker ${index}`,
        reason: link?.gone ?? "never connected",
        crashed: false,
        lostClients: this.dealt[index] ?? 0,
      });
    });
    return { reports, missing };
  }

  pause(): void {
    for (const link of this.links) link.send({ type: "pause" });
  }

  resume(): void {
    for (const link of this.links) link.send({ type: "resume" });
  }

  /** `atMs` is on the coordinator's clock, which the workers' shards follow (clock-sync.ts). */
  brokerBack(action: BrokerFaultAction, atMs: number): void {
    for (const link of this.links) link.send({ type: "broker-back", action, atMs });
  }

  async stop(): Promise<void> {
    for (const link of this.links) link.send({ type: "stop" });
  }

  /** Control traffic per worker per second, from `prepare` to the last report. */
  controlTraffic(): ControlTraffic | null {
    return this.traffic;
  }

  private measureTraffic(): ControlTraffic {
    const seconds = Math.max(0.001, (monoMs() - this.startedAt.ms) / 1000);
    let bytesIn = -this.startedAt.bytesIn;
    let bytesOut = -this.startedAt.bytesOut;
    for (const link of this.links) {
      bytesIn += link.bytesIn;
      bytesOut += link.bytesOut;
    }
    const perWorker = this.links.length * seconds;
    return {
      count: this.hub.expected,
      controlBytesInPerWorkerPerSec: bytesIn / perWorker,
      controlBytesOutPerWorkerPerSec: bytesOut / perWorker,
    };
  }

  clocks(): WorkerClock[] {
    return [...this.reports.entries()]
      .sort(([a], [b]) => a - b)
      .flatMap(([index, r]) =>
        r.clock
          ? [{ worker: `worker ${index}`, offsetMs: r.clock.offsetMs, boundMs: r.clock.boundMs }]
          : [],
      );
  }
}
