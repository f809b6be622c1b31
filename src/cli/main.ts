import { Command, CommanderError } from "commander";
import { EXIT_CODES, errorText, RtbenchError } from "../shared/errors.js";
import { packageVersion } from "../util/paths.js";
import { redactText } from "../util/redact.js";
import { commands } from "./commands/index.js";

const EXIT_HELP = `
Exit codes:
  0  success
  1  a threshold or the regression check failed
  2  bad input (scenario file, flags, result file)
  3  the run itself failed (server would not start, Redis unreachable) or measured
     nothing (no client connected, nothing expected, a shard died)
  130  interrupted (Ctrl-C); rtbench run writes a partial result first`;

/**
 * `rtbench --help | head -5`: the reader leaves before rtbench has written
 * everything, and the next write fails with EPIPE. That is not an error of
 * rtbench's: what is left to print is dropped and the exit code stays what
 * the command decided.
 */
function dropOutputToClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED") return;
      throw error;
    });
  }
}

/** Runs the CLI with `argv` (as process.argv) and resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  dropOutputToClosedPipes();
  const program = new Command("rtbench")
    .description("Benchmark real-time web transports: short poll, long poll, SSE, WebSocket.")
    .version(packageVersion())
    .option("--verbose", "show stack traces for errors")
    .addHelpText("after", EXIT_HELP)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });
  for (const command of commands()) {
    program.addCommand(command.exitOverride());
  }

  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    return reportError(error, argv.includes("--verbose"));
  }
}

function reportError(error: unknown, verbose: boolean): number {
  if (error instanceof CommanderError) {
    // Help and version are "errors" to commander; usage errors are bad input.
    if (error.exitCode === 0) return 0;
    return EXIT_CODES.BAD_INPUT;
  }
  // Messages may quote a URL: credentials in it are never printed.
  if (error instanceof RtbenchError) {
    process.stderr.write(`error: ${redactText(error.message)}\n`);
    for (const line of error.details) process.stderr.write(`  ${redactText(line)}\n`);
    if (verbose && error.stack) process.stderr.write(`${redactText(error.stack)}\n`);
    return EXIT_CODES[error.code];
  }
  const message = errorText(error);
  process.stderr.write(`error: ${redactText(message)}\n`);
  if (verbose && error instanceof Error && error.stack)
    process.stderr.write(`${redactText(error.stack)}\n`);
  else process.stderr.write("(run with --verbose for the stack trace)\n");
  return EXIT_CODES.RUN_FAILED;
}
