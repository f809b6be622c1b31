import { type ChildHandle, startChild } from "../../src/util/children.js";
import { compiledEntry } from "../../src/util/paths.js";
import { metricValue } from "../server-helpers.js";

/**
 * A reference server in its own process (the compiled main.js): its memory is
 * its own, measured from /metrics, and a crash shows as an exit, not as a
 * failed test runner.
 */
export interface ServerProcess {
  readonly url: string;
  readonly handle: ChildHandle;
  /** True once it exited without being asked to. */
  readonly crashed: () => boolean;
  /** `process_resident_memory_bytes` from /metrics. */
  rssBytes(): Promise<number>;
  metric(series: string): Promise<number>;
  /** Lines it printed on stderr. */
  readonly stderr: string[];
  stop(): Promise<void>;
}

export async function startServerProcess(args: string[]): Promise<ServerProcess> {
  const stderr: string[] = [];
  const { handle, match } = await startChild({
    name: "reference server",
    command: process.execPath,
    args: [compiledEntry("reference-server/main.js"), "--port", "0", ...args],
    readyPattern: /listening (\S+)/,
    onStderr: (line) => stderr.push(line),
  });
  let stopping = false;
  let exited = false;
  void handle.exited.then(() => {
    exited = true;
  });
  const url = match[1] as string;
  const metric = async (series: string) => {
    const text = await (
      await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })
    ).text();
    return metricValue(text, series);
  };
  return {
    url,
    handle,
    crashed: () => exited && !stopping,
    rssBytes: () => metric("process_resident_memory_bytes"),
    metric,
    stderr,
    stop: async () => {
      stopping = true;
      await handle.stop("SIGTERM", 5000);
    },
  };
}
