import { Command } from "commander";
import { loadScenario } from "../../scenario/load.js";
import type { Scenario } from "../../scenario/types.js";
import { formatDuration } from "../../scenario/units.js";
import { scenarioWarnings } from "../../scenario/warnings.js";
import { EXIT_CODES, RtbenchError } from "../../shared/errors.js";

/** `rtbench validate FILE...`: checks scenario files without running them; exit 2 if any is invalid. */
export function validateCommand(): Command {
  return new Command("validate")
    .description("check scenario files against the schema and report every problem")
    .argument("<files...>", "scenario files (.yaml, .yml or .json)")
    .action(async (files: string[]) => {
      let invalid = 0;
      for (const file of files) {
        try {
          const scenario = await loadScenario(file);
          process.stdout.write(`ok  ${file} (${summarise(scenario)})\n`);
          for (const warning of scenarioWarnings(scenario)) {
            process.stderr.write(`warning: ${file}: ${warning}\n`);
          }
        } catch (error) {
          if (!(error instanceof RtbenchError) || error.code !== "BAD_INPUT") throw error;
          invalid += 1;
          // Same shape as the CLI's own error block, so one invalid file reads the same either way.
          process.stderr.write(`error: ${error.message}\n`);
          for (const line of error.details) process.stderr.write(`  ${line}\n`);
        }
      }
      // Every file is checked before failing; main() turns exitCode into the process's exit code.
      if (invalid > 0) process.exitCode = EXIT_CODES.BAD_INPUT;
    });
}

function summarise(scenario: Scenario): string {
  const protocols = scenario.protocols.length;
  const variants = scenario.variants.length;
  return [
    `${scenario.name}: ${protocols} protocol${protocols === 1 ? "" : "s"}${variants > 0 ? ` x ${variants} variants` : ""}`,
    `${scenario.clients.count} clients`,
    formatDuration(scenario.durationMs),
  ].join(", ");
}
