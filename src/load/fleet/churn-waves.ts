import type { Clock, TimerHandle } from "../../util/clock.js";
import { type ChurnPlan, churnWaves, pickLeavers } from "../shards/churn.js";
import type { Subscriber } from "./subscriber.js";

/**
 * Churn in one shard, on the shard's clock: at each wave (shards/churn.ts)
 * a fraction of the clients connected then leave, each back `offlineForMs`
 * later. Started when the measured window starts; `cancel` when the shard
 * closes.
 */
export class ChurnWaves {
  private readonly timers: TimerHandle[] = [];
  private cancelled = false;

  constructor(
    plan: ChurnPlan,
    private readonly clock: Clock,
    subscribers: readonly Subscriber[],
    random: () => number,
  ) {
    for (const atMs of churnWaves(plan)) {
      const timer = clock.setTimeout(() => {
        if (this.cancelled) return;
        const ready = subscribers.filter((s) => s.isReady());
        const leavers = pickLeavers(ready, plan.fraction, random);
        for (const subscriber of leavers) subscriber.leave();
        this.timers.push(
          clock.setTimeout(() => {
            for (const subscriber of leavers) subscriber.comeBack();
          }, plan.offlineForMs),
        );
      }, atMs - clock.now());
      this.timers.push(timer);
    }
  }

  cancel(): void {
    this.cancelled = true;
    for (const timer of this.timers) this.clock.clearTimeout(timer);
  }
}
