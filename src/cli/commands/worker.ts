import { Command, Option } from "commander";
import { runWorker } from "../../load/workers/worker.js";
import { badInput } from "../../shared/errors.js";
import { durationFlag } from "../workers-options.js";

interface WorkerFlags {
  coordinator: string;
  index?: string;
  connectTimeout: string;
}

/**
 * `rtbench worker`: one of the machines of `rtbench run --workers N`
 * (docs/workers.md). In a Kubernetes Indexed Job its index is the pod's
 * JOB_COMPLETION_INDEX.
 */
export function workerCommand(): Command {
  return new Command("worker")
    .description(
      "run a segment of the clients for a coordinator (`rtbench run SCENARIO --workers N`)",
    )
    .requiredOption("--coordinator <url>", "the coordinator's control address, ws://HOST:PORT")
    .option(
      "--index <i>",
      "this worker's index, 0..N-1 (default: $JOB_COMPLETION_INDEX, else the coordinator assigns one)",
    )
    .addOption(
      new Option(
        "--connect-timeout <duration>",
        "how long to keep trying to reach the coordinator",
      ).default("60s"),
    )
    .addHelpText(
      "after",
      "\nExit codes: 0 after the coordinator took the final report, 1 on failure (one line on stderr\nsays why: the coordinator unreachable, a version mismatch, the connection lost), 2 bad flags.",
    )
    .action(async (flags: WorkerFlags) => {
      if (!/^wss?:\/\/[^/]+/.test(flags.coordinator)) {
        throw badInput(`--coordinator: expected ws://HOST:PORT, found "${flags.coordinator}"`);
      }
      const connectTimeoutMs = durationFlag("--connect-timeout", flags.connectTimeout);
      process.stdout.write(`rtbench-worker started (pid ${process.pid})\n`);
      process.exitCode = await runWorker({
        url: flags.coordinator,
        index: readIndex(flags.index),
        connectTimeoutMs,
        log: (line) => process.stderr.write(`${line}\n`),
      });
    });
}

/** --index, else JOB_COMPLETION_INDEX (a Kubernetes Indexed Job sets it), else none. */
function readIndex(flag: string | undefined): number | null {
  const [source, text] =
    flag !== undefined
      ? ["--index", flag]
      : ["JOB_COMPLETION_INDEX", process.env.JOB_COMPLETION_INDEX];
  if (text === undefined || text === "") return null;
  const index = Number(text);
  if (!Number.isInteger(index) || index < 0) {
    throw badInput(`${source}: expected a whole number from 0, found "${text}"`);
  }
  return index;
}
