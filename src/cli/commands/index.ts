import type { Command } from "commander";
import { abCommand } from "./ab.js";
import { compareCommand } from "./compare.js";
import { initCommand } from "./init.js";
import { k8sCommand } from "./k8s.js";
import { metricsCommand } from "./metrics.js";
import { reportCommand } from "./report.js";
import { runCommand } from "./run.js";
import { serveCommand } from "./serve.js";
import { validateCommand } from "./validate.js";
import { workerCommand } from "./worker.js";

/** Every subcommand, one file each. */
export function commands(): Command[] {
  return [
    runCommand(),
    serveCommand(),
    validateCommand(),
    compareCommand(),
    abCommand(),
    reportCommand(),
    metricsCommand(),
    initCommand(),
    workerCommand(),
    k8sCommand(),
  ];
}
