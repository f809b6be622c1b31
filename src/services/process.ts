import { errorText, RtbenchError } from "../shared/errors.js";
import { type Supervised, supervise } from "../util/supervisor.js";
import { findOnPath } from "../util/which.js";
import type { OperationCounts, RunningService } from "./types.js";

const STOP_GRACE_MS = 5000;

/** Where `command` is on PATH; a RUN_FAILED error with the install hint when it is not. */
export function requireCommand(command: string, installHint: string): string {
  const path = findOnPath(command);
  if (path === undefined) {
    throw new RtbenchError(
      "RUN_FAILED",
      `${command} is not installed; install it with ${installHint}`,
    );
  }
  return path;
}

/**
 * Starts a backing service's process on `port` and waits for its ready line
 * on stdout; a failure is a RUN_FAILED error naming the command and port.
 */
export async function startServiceProcess(options: {
  command: string;
  port: number;
  program: string;
  args: string[];
  readyPattern: RegExp;
  readyTimeoutMs: number;
}): Promise<Supervised> {
  const { command, port } = options;
  try {
    return await supervise({
      name: `${command} on port ${port}`,
      command: options.program,
      args: options.args,
      readyLine: options.readyPattern,
      readyLineTimeoutMs: options.readyTimeoutMs,
      // Each runs by exec under the child's PID, and alone.
      scope: "process",
    });
  } catch (error) {
    const reason = errorText(error);
    throw new RtbenchError("RUN_FAILED", `could not start ${command} on port ${port}: ${reason}`, {
      cause: error,
    });
  }
}

/**
 * A started service as the run sees it: stopped and killed through its
 * supervisor, started again on the same port by `startAgain`, and its data
 * (a store directory) removed by `removeData` only when it stops for good.
 */
export function runningService(
  child: Supervised,
  url: string,
  port: number,
  operationCounts: () => Promise<OperationCounts>,
  startAgain: () => Promise<RunningService>,
  removeData: () => Promise<void> = async () => {},
): RunningService {
  return {
    url,
    port,
    pid: child.handle.pid,
    operationCounts,
    stop: async () => {
      await child.stop("SIGTERM", STOP_GRACE_MS);
      await removeData();
    },
    kill: () => child.stop("SIGKILL", STOP_GRACE_MS),
    restart: async () => {
      await child.stop("SIGTERM", STOP_GRACE_MS);
      return startAgain();
    },
  };
}
