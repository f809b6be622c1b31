import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { extname, join } from "node:path";
import { Command, Option } from "commander";
import { stringify } from "yaml";
import { buildManifests, type RunManifest } from "../../k8s/manifests.js";
import { COORDINATOR_PORT, type ManifestOptions, serviceName } from "../../k8s/run-objects.js";
import {
  PORTS_PER_SOURCE,
  type RunSizes,
  SLOW_CONNECT_PER_DESTINATION,
  sizeRun,
} from "../../k8s/sizing.js";
import { loadScenario } from "../../scenario/load.js";
import type { Scenario } from "../../scenario/types.js";
import { parseDuration } from "../../scenario/units.js";
import { badInput } from "../../shared/errors.js";
import { packageVersion } from "../../util/paths.js";

interface K8sFlags {
  workers?: string;
  image?: string;
  out?: string;
  namespace?: string;
  name?: string;
  unsafeSysctls?: boolean;
  workerWait: string;
}

/** Kubernetes caps an Indexed Job's completions at 100,000. */
const MAX_WORKERS = 100_000;
/** Room in 63-character names for `-coordinator` and an indexed pod's `-workers-99999`. */
const MAX_NAME = 40;
const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** `rtbench k8s SCENARIO --workers N --image IMAGE`: the manifests of a run on Kubernetes. */
export function k8sCommand(): Command {
  return new Command("k8s")
    .description(
      "write Kubernetes manifests that run a scenario over N worker pods (an Indexed Job) and a coordinator",
    )
    .argument("<file>", "scenario file (YAML or JSON), carried into the cluster in a ConfigMap")
    .option("--workers <n>", "worker pods: the clients are split into N segments")
    .option(
      "--image <image>",
      "the rtbench image the cluster pulls (see the repository's Dockerfile)",
    )
    .option("--out <dir>", "write DIR/NAME.yaml instead of printing the manifests to stdout")
    .option("--namespace <ns>", "put every object in this namespace (default: kubectl's)")
    .option("--name <name>", "prefix of the objects' names (default: rtbench-<scenario name>)")
    .addOption(
      new Option(
        "--worker-wait <duration>",
        "how long the coordinator waits for every worker to connect (scheduling, image pulls)",
      ).default("5m"),
    )
    .option(
      "--unsafe-sysctls",
      "also raise net.core.somaxconn and net.ipv4.tcp_max_syn_backlog in the coordinator's pod (the kubelet must allow them)",
    )
    .addHelpText(
      "after",
      `\nApply with \`kubectl apply -f\`; the run's result JSON is the log of the coordinator's\n"result" container. docs/kubernetes.md has the steps and the node settings.`,
    )
    .action(async (file: string, flags: K8sFlags) => {
      const workers = readWorkers(flags.workers);
      const image = readImage(flags.image);
      const namespace =
        flags.namespace === undefined ? null : readLabel("--namespace", flags.namespace, 63);
      const workerWaitMs = readWorkerWait(flags.workerWait);
      const scenario = await loadScenario(file);
      const name =
        flags.name === undefined
          ? defaultName(scenario.name)
          : readLabel("--name", flags.name, MAX_NAME);
      const sizes = sizeRun(scenario, workers);
      const options: ManifestOptions = {
        scenario,
        scenarioText: scenario.source.text ?? readFileSync(scenario.source.file ?? file, "utf8"),
        scenarioKey: `scenario${extname(scenario.source.file ?? file).toLowerCase() || ".yaml"}`,
        workers,
        image,
        name,
        namespace,
        unsafeSysctls: flags.unsafeSysctls === true,
        workerWaitMs,
        sizes,
        version: packageVersion(),
      };
      const text = renderManifests(options, buildManifests(options));
      if (scenario.target === null || scenario.target.command !== null) {
        process.stderr.write(
          `note: ${file} starts its own servers; on Kubernetes they run in the coordinator's pod. To measure a system in the cluster, name it in target.urls.\n`,
        );
      }
      const ports = portNote(scenario, sizes);
      if (ports !== null) process.stderr.write(`note: ${ports}\n`);
      if (flags.out === undefined) {
        process.stdout.write(text);
        return;
      }
      mkdirSync(flags.out, { recursive: true });
      const path = join(flags.out, `${name}.yaml`);
      writeFileSync(path, text);
      process.stdout.write(`wrote ${path}\n${nextSteps(path, options)}`);
    });
}

/**
 * A worker pod has one address, and its clients spread round-robin over the
 * target's URLs: past half of a source address's ports towards one
 * destination connects slow down, past all of them they fail.
 */
export function portNote(scenario: Scenario, sizes: RunSizes): string | null {
  const destinations = Math.max(1, scenario.target?.urls.length ?? 1);
  const perDestination = Math.ceil(sizes.segment.clients / destinations);
  if (perDestination <= SLOW_CONNECT_PER_DESTINATION) return null;
  const outcome =
    perDestination > PORTS_PER_SOURCE
      ? `more than the ${PORTS_PER_SOURCE.toLocaleString("en-US")} source ports of its address: connects will fail`
      : `past ${SLOW_CONNECT_PER_DESTINATION.toLocaleString("en-US")}, connects slow down while the kernel searches for a free port`;
  return `each worker opens up to ${perDestination.toLocaleString("en-US")} connections to each target address, ${outcome}; use more workers or more target URLs (docs/kubernetes.md)`;
}

function readWorkers(value: string | undefined): number {
  if (value === undefined) {
    throw badInput("k8s: --workers is required: the number of worker pods, e.g. --workers 3");
  }
  const workers = Number(value);
  if (!/^\d+$/.test(value.trim()) || workers < 1 || workers > MAX_WORKERS) {
    throw badInput(
      `k8s: --workers: expected a whole number from 1 to ${MAX_WORKERS.toLocaleString("en-US")}, found "${value}"`,
    );
  }
  return workers;
}

function readWorkerWait(value: string): number {
  try {
    const ms = parseDuration(value);
    if (ms >= 1000) return ms;
  } catch {
    // reported below, as every other bad value
  }
  throw badInput(
    `k8s: --worker-wait: expected a duration of at least 1s, like 90s or 5m, found "${value}"`,
  );
}

function readImage(value: string | undefined): string {
  if (value === undefined || value.trim() === "") {
    throw badInput(
      "k8s: --image is required: the rtbench image your cluster pulls, e.g. --image registry.example.com/rtbench:0.1.0 (build it from the repository's Dockerfile)",
    );
  }
  if (/\s/.test(value))
    throw badInput(`k8s: --image: expected an image reference without spaces, found "${value}"`);
  return value;
}

function readLabel(flag: string, value: string, max: number): string {
  if (!DNS_LABEL.test(value) || value.length > max) {
    throw badInput(
      `k8s: ${flag}: expected at most ${max} lowercase letters, digits or '-', starting with a letter and not ending with '-', found "${value}"`,
    );
  }
  return value;
}

/** `rtbench-` and the scenario's name as a DNS label: lowercase, other characters as '-'. */
export function defaultName(scenarioName: string): string {
  const slug = scenarioName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return `rtbench-${slug}`.slice(0, MAX_NAME).replace(/-+$/, "");
}

/** The objects as one YAML stream, under a header that says what they are and how to use them. */
export function renderManifests(options: ManifestOptions, objects: RunManifest[]): string {
  const header = [
    `# rtbench ${options.version}: ${options.scenario.name} over ${options.workers} worker pod(s).`,
    ...sizeLines(options.scenario, options.workers, options.sizes),
    `# Apply: kubectl apply -f FILE; follow: kubectl logs -f job/${options.name}-coordinator -c coordinator`,
    `# Result: kubectl logs job/${options.name}-coordinator -c result > result.json`,
    `# Workers reach the coordinator at ws://${serviceName(options.name)}:${COORDINATOR_PORT}; docs/kubernetes.md.`,
  ];
  const documents = objects.map((object) =>
    stringify(object, { lineWidth: 0, aliasDuplicateObjects: false }),
  );
  return `${header.join("\n")}\n${documents.map((doc) => `---\n${doc}`).join("")}`;
}

function sizeLines(scenario: Scenario, workers: number, sizes: RunSizes): string[] {
  const { segment, worker, coordinator } = sizes;
  return [
    `# Each worker: up to ${segment.clients} of ${scenario.clients.count} clients in ${segment.shards} shard(s), ${segment.clientCores.toFixed(2)} cores of client work;`,
    `#   requests ${worker.cores} cores, ${worker.memoryMiB} MiB (the shard plan's measured costs, src/k8s/sizing.ts).`,
    `# Coordinator: requests ${coordinator.cores} cores, ${coordinator.memoryMiB} MiB. ${workers} workers x ${worker.cores} cores = ${(workers * worker.cores).toFixed(1)} cores.`,
  ];
}

function nextSteps(path: string, options: ManifestOptions): string {
  const ns = options.namespace ? ` -n ${options.namespace}` : "";
  return [
    "",
    "next:",
    `  kubectl apply${ns} -f ${path}`,
    `  kubectl logs${ns} -f job/${options.name}-coordinator -c coordinator`,
    `  kubectl logs${ns} job/${options.name}-coordinator -c result > result.json`,
    `  kubectl delete${ns} -f ${path}`,
    "",
  ].join("\n");
}
