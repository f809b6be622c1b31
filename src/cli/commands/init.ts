import {
  closeSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { Command } from "commander";
import { badInput } from "../../shared/errors.js";
import { packageRoot } from "../../util/paths.js";

interface InitFlags {
  ci?: boolean;
  force?: boolean;
}

const STARTER = join(packageRoot, "examples", "starter", "scenario.yaml");
const WORKFLOW = join(packageRoot, "examples", "ci", "github-actions.yml");
const WORKFLOW_TARGET = join(".github", "workflows", "rtbench.yml");
const SCHEMA = join(packageRoot, "schema", "scenario.schema.json");

/** `rtbench init [NAME]`: a commented starter scenario (and a CI workflow) in the user's project. */
export function initCommand(): Command {
  return new Command("init")
    .description("write a commented starter scenario (NAME.yaml, default scenario.yaml) here")
    .argument("[name]", "scenario name, also its file name", "scenario")
    .option("--ci", `also write a GitHub Actions workflow (${WORKFLOW_TARGET}) that gates on it`)
    .option("--force", "overwrite files that exist")
    .action((name: string, flags: InitFlags) => {
      const scenarioName = name.replace(/\.ya?ml$/, "");
      if (!/^[A-Za-z0-9][\w.-]*$/.test(scenarioName)) {
        throw badInput(
          `init: expected a name of letters, digits, _ . or - (it becomes the file name), found "${name}"`,
        );
      }
      const file = `${scenarioName}.yaml`;
      // `init --ci` next to a scenario the user already has adds the workflow for it:
      // the scenario is theirs and is kept; only the workflow must be new (or --force).
      const keepScenario = flags.ci === true && !flags.force && existsSync(file);
      const targets = [...(keepScenario ? [] : [file]), ...(flags.ci ? [WORKFLOW_TARGET] : [])];
      const links = targets.flatMap(symbolicLinksOn);
      if (links.length > 0) {
        throw badInput(
          `init: ${links.join(" and ")} is a symbolic link; init does not write through links (remove it, or run init elsewhere)`,
        );
      }
      const existing = targets.filter((target) => existsSync(target));
      if (existing.length > 0 && !flags.force) {
        throw badInput(`init: ${existing.join(" and ")} already exists (--force overwrites)`);
      }
      const schema = schemaReference(file);
      if (keepScenario) {
        process.stdout.write(`kept ${file} (it exists; the workflow runs it)\n`);
      } else {
        writeOwnFile(file, starterScenario(scenarioName, file, schema.path));
        process.stdout.write(`wrote ${file}\n`);
      }
      if (flags.ci) {
        mkdirSync(dirname(WORKFLOW_TARGET), { recursive: true });
        writeOwnFile(WORKFLOW_TARGET, workflowFor(scenarioName, file));
        process.stdout.write(`wrote ${WORKFLOW_TARGET}\n`);
      }
      if (schema.outsideProject && !keepScenario) {
        process.stderr.write(
          `note: rtbench is not installed in this project, so the $schema line points to ${schema.path}; after \`npm install --save-dev rtbench\`, run init again for a path that works on every machine\n`,
        );
      }
      process.stdout.write(nextSteps(scenarioName, file, flags.ci === true));
    });
}

/** `path` and the directories on the way to it (from here) that are symbolic links. */
function symbolicLinksOn(path: string): string[] {
  const parts = path.split(/[\\/]/);
  const links: string[] = [];
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join("/");
    try {
      if (lstatSync(prefix).isSymbolicLink()) links.push(prefix);
    } catch {
      break; // does not exist: nothing further on exists either
    }
  }
  return links;
}

/**
 * Writes `text` to `path`, never through a symbolic link: O_NOFOLLOW makes
 * the open fail (ELOOP) if a link appeared there since it was checked.
 */
function writeOwnFile(path: string, text: string): void {
  const fd = openSync(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
    0o644,
  );
  try {
    writeFileSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** The schema as seen from the new file: ./node_modules/rtbench/schema/... once installed. */
function schemaReference(file: string): { path: string; outsideProject: boolean } {
  const path = relative(dirname(resolve(file)), SCHEMA)
    .split(sep)
    .join("/");
  const outsideProject = path.startsWith("../") || path.startsWith("/");
  return { path: outsideProject ? path : `./${path}`, outsideProject };
}

function starterScenario(name: string, file: string, schemaPath: string): string {
  const lines = readFileSync(STARTER, "utf8").split("\n");
  lines[0] = `# yaml-language-server: $schema=${schemaPath}`;
  return lines
    .join("\n")
    .replace(/^name: scenario$/m, `name: ${name}`)
    .replace("npx rtbench run scenario.yaml", `npx rtbench run ${file}`);
}

/** The example workflow, pointed at the new scenario and its baseline. */
function workflowFor(name: string, file: string): string {
  return readFileSync(WORKFLOW, "utf8")
    .replaceAll("scenarios/quickstart.yaml", file)
    .replaceAll("results/baselines/quickstart", `results/baselines/${name}`)
    .replaceAll("quickstart-*", `${name}-*`)
    .replace(
      "Copy to .github/workflows/rtbench.yml (`npx rtbench init --ci` does it for\n# you) and set SCENARIO_FILE and BASELINE below.",
      `Written by \`npx rtbench init --ci\` for ${file}.`,
    );
}

function nextSteps(name: string, file: string, ci: boolean): string {
  const lines = ["", "next:", `  npx rtbench run ${file}          # about a minute`];
  if (ci) {
    lines.push(
      "  # a baseline for the workflow, made with 3 runs (commit results/baselines/):",
      `  npx rtbench run ${file} --repeat 3 --out results/baselines`,
      `  mv results/baselines/${name}-*-median.json results/baselines/${name}.json`,
      `  rm results/baselines/${name}-*-run*.json`,
    );
  }
  return `${lines.join("\n")}\n`;
}
