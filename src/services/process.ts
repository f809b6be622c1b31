import { errorText, RtbenchError } from "../shared/errors.js";
import { type ChildHandle, startChild } from "../util/children.js";
import { findOnPath } from "../util/which.js";

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
}): Promise<ChildHandle> {
  const { command, port } = options;
  try {
    const { handle } = await startChild({
      name: `${command} on port ${port}`,
      command: options.program,
      args: options.args,
      readyPattern: options.readyPattern,
      readyTimeoutMs: options.readyTimeoutMs,
    });
    return handle;
  } catch (error) {
    const reason = errorText(error);
    throw new RtbenchError("RUN_FAILED", `could not start ${command} on port ${port}: ${reason}`, {
      cause: error,
    });
  }
}
