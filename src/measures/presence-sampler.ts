/**
 * Samples `GET /api/presence/C` of every channel at a fixed interval while
 * the clients run: the probe of the presence-accuracy measure
 * (presence-accuracy.ts), whose audit (presence-audit.ts) holds the samples
 * against what rtbench knows of its own clients.
 */

import type { PresenceSample } from "../run-model/presence-sample.js";
import { ROUTES } from "../shared/protocol.js";
import { monoMs, sleep } from "../util/clock.js";

/** Requests in flight at once, so many channels do not burst the server. */
const CONCURRENCY = 8;

export class PresenceSampler {
  readonly samples: PresenceSample[] = [];
  /** Requests that failed (an instance down): left out, not guessed. */
  failed = 0;
  private running: Promise<void> | null = null;
  private readonly stopper = new AbortController();

  constructor(
    private readonly channels: readonly string[],
    /** Where each channel's presence is asked, in order: the next one when an instance is down. */
    private readonly urlsFor: (channel: string) => readonly string[],
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopper.signal.aborted) {
      const roundStart = monoMs();
      await this.sampleRound();
      await sleep(this.intervalMs - (monoMs() - roundStart), this.stopper.signal);
    }
  }

  private async sampleRound(): Promise<void> {
    const queue = [...this.channels];
    const worker = async () => {
      for (let channel = queue.shift(); channel !== undefined; channel = queue.shift()) {
        await this.sample(channel);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
  }

  private async sample(channel: string): Promise<void> {
    const path = ROUTES.presence.replace("{channel}", encodeURIComponent(channel));
    for (const url of this.urlsFor(channel)) {
      const startMs = monoMs();
      try {
        const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(2000) });
        const body = (await response.json()) as { users?: unknown };
        if (!response.ok || !Array.isArray(body.users))
          throw new Error(`status ${response.status}`);
        this.samples.push({ channel, startMs, endMs: monoMs(), users: body.users.map(String) });
        return;
      } catch {
        this.failed++;
      }
    }
  }
}
