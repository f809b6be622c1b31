import { join } from "node:path";
import { type ChildHandle, startChild } from "../../util/children.js";
import { packageRoot } from "../../util/paths.js";
import type { WorkerNetwork } from "./netns.js";

/**
 * `rtbench run --workers N --local`: the N workers as separate processes on
 * this host, each a real `rtbench worker` dialling the coordinator.
 */
export interface LocalWorkers {
  handles: ChildHandle[];
  stop(): Promise<void>;
}

/**
 * RTBENCH_TEST_WORKER_CLOCK_SKEW_MS (test only): a comma-separated skew per
 * worker index ("0,250"), or one value for all, passed to each worker as its
 * RTBENCH_TEST_CLOCK_SKEW_MS: its clock runs that far ahead of the coordinator's.
 */
function skewFor(index: number): string | undefined {
  const list = process.env.RTBENCH_TEST_WORKER_CLOCK_SKEW_MS;
  if (list === undefined || list === "") return undefined;
  const values = list.split(",");
  return values.length === 1 ? values[0] : values[index];
}

export async function startLocalWorkers(
  count: number,
  coordinatorUrl: string,
  log: (line: string) => void,
  /** Each worker in a namespace of its own; null: plain local processes. */
  network: WorkerNetwork | null = null,
): Promise<LocalWorkers> {
  const bin = join(packageRoot, "bin", "rtbench.js");
  const started = await Promise.allSettled(
    Array.from({ length: count }, (_, i) => {
      const env: NodeJS.ProcessEnv = { ...process.env };
      delete env.RTBENCH_TEST_CLOCK_SKEW_MS;
      const skew = skewFor(i);
      if (skew !== undefined) env.RTBENCH_TEST_CLOCK_SKEW_MS = skew;
      const worker = [
        process.execPath,
        bin,
        "worker",
        "--coordinator",
        coordinatorUrl,
        "--index",
        String(i),
      ];
      // `ip netns exec` enters the namespace and execs the worker under the same PID.
      const [command, ...args] = network ? [...network.enter(i), ...worker] : worker;
      return startChild({
        name: `worker ${i}`,
        command: command as string,
        args,
        env,
        readyPattern: /^rtbench-worker started/,
        onStderr: (line) => {
          // Its own join is logged by the coordinator.
          if (!/: connected to /.test(line)) log(`worker ${i}: ${line}`);
        },
      });
    }),
  );
  const handles = started.flatMap((s) => (s.status === "fulfilled" ? [s.value.handle] : []));
  const stop = async () => {
    await Promise.all(handles.map((h) => h.stop("SIGTERM", 3000)));
  };
  const failure = started.find((s) => s.status === "rejected");
  if (failure) {
    await stop();
    throw (failure as PromiseRejectedResult).reason;
  }
  return { handles, stop };
}
