import { Command } from "commander";
import { listMetrics } from "../../measures/names.js";
import { transportNames } from "../../shared/transports.js";

const KIND_HELP = `
Kinds: exact = any increase is a regression; timing = compared with a relative
tolerance and a 1 ms floor; rate = compared with a relative tolerance;
count = descriptive, never a regression.`;

export function metricsCommand(): Command {
  return new Command("metrics")
    .description("list the metric names used by thresholds and `rtbench compare`")
    .option("--json", "print the list as JSON")
    .addHelpText("after", KIND_HELP)
    .action((flags: { json?: boolean }) => {
      const metrics = listMetrics();
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(metrics, null, 2)}\n`);
        return;
      }
      const width = Math.max(...metrics.map((m) => m.path.length)) + 2;
      const lines = [
        `Metric names are <protocol>.<metric>, protocol one of ${transportNames().join(", ")} or * for all,`,
        "e.g. websocket.latency.p99 or *.lost.",
        "",
        `${"metric".padEnd(width)}${"unit".padEnd(9)}${"kind".padEnd(8)}${"better".padEnd(8)}description`,
      ];
      for (const m of metrics) {
        lines.push(
          `${m.path.padEnd(width)}${m.unit.padEnd(9)}${m.kind.padEnd(8)}${(m.better ?? "-").padEnd(8)}${m.description}`,
        );
      }
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}
