/**
 * Entry point of a shard: a child process running a slice of the simulated
 * clients. It takes orders over IPC (shard-protocol.ts) and reports encoded
 * histograms and counters, which the parent merges losslessly.
 */
import { importMeasureModules } from "../../measures/registry.js";
import { startLoopDelayMonitor } from "../../metrics/loop-delay.js";
import { LoadRecorder, ownCpu } from "../../metrics/process-load.js";
import { bucketCount } from "../../run-model/timeline.js";
import { targetClients } from "../../targets/registry.js";
import { monoMs, setClockCorrection } from "../../util/clock.js";
import type { ParentMessage, ShardMessage, ShardStart } from "../shards/shard-protocol.js";
import { Fleet } from "./fleet.js";
import { type LoopDelaySeconds, startLoopDelaySeconds } from "./loop-delay-seconds.js";
import { startTestBusyLoop, testFailureAtWindowStart } from "./shard-test-hooks.js";

const send = (message: ShardMessage) => process.send?.(message);

// Ctrl-C reaches the whole process group; the parent decides when a shard stops,
// so that what was measured is still reported.
process.on("SIGINT", () => {});
// Never outlive the parent.
process.on("disconnect", () => process.exit(0));

let fleet: Fleet | null = null;
const abort = new AbortController();
const loopDelay = startLoopDelayMonitor();
const load = new LoadRecorder(ownCpu(), monoMs, true);
const loadTimer = setInterval(() => load.tick(), 1000);
let progressTimer: NodeJS.Timeout | null = null;
startTestBusyLoop();
let loopDelaySeconds: LoopDelaySeconds | null = null;

process.on("message", (message: ParentMessage) => {
  if (message.type === "clock") {
    setClockCorrection(message.offsetMs);
  } else if (message.type === "broker-back") {
    fleet?.brokerBack(message.action, message.atMs);
  } else if (message.type === "start") {
    // An extension's measures are registered in the parent; this process imports them
    // too. A module that fails to load kills the shard, which the parent reports.
    void importMeasureModules(message.measureModules ?? []).then(() => start(message));
  } else if (message.type === "finish") {
    abort.abort();
    if (progressTimer) clearInterval(progressTimer);
    clearInterval(loadTimer);
    const p99 = loopDelay.p99Ms();
    loopDelay.stop();
    if (!fleet) {
      process.disconnect?.();
      return;
    }
    fleet.close();
    const report = fleet.report(
      p99,
      load.summary("shard", `shard ${process.env.RTBENCH_SHARD_INDEX ?? ""}`.trim()),
      loopDelaySeconds?.stop() ?? [],
      message.uncounted,
    );
    process.send?.(report, () => process.disconnect?.());
  }
});

function start(spec: ShardStart): void {
  fleet = new Fleet(
    spec,
    spec.target ? { createClient: targetClients(spec.target, spec.protocol) } : {},
  );
  const current = fleet;
  loopDelaySeconds = startLoopDelaySeconds(
    spec.rampStartMs,
    bucketCount(spec.rampStartMs, spec.drainEndMs),
    () => current.cutSecond(),
  );
  at(spec.measureStartMs, () => {
    current.markWindowStart();
    loopDelay.reset();
    load.markWindowStart();
    testFailureAtWindowStart();
  });
  at(spec.measureEndMs, () => {
    current.markWindowEnd();
    load.markWindowEnd();
  });
  progressTimer = setInterval(
    () => send({ type: "progress", open: current.open, received: current.received }),
    1000,
  );
  void current.rampUp(abort.signal);
}

function at(timeMs: number, action: () => void) {
  setTimeout(action, Math.max(0, timeMs - monoMs()));
}

process.stdout.write("rtbench-shard ready\n");
