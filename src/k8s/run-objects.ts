import type { Scenario } from "../scenario/types.js";
import type { RunSizes } from "./sizing.js";

/**
 * What every Kubernetes object of one run (manifests.ts) shares: the options
 * they are built from, the port and paths the pods agree on, and the names
 * and labels that tie the objects of one run together.
 */

/** The port the coordinator listens on for its workers' control connections. */
export const COORDINATOR_PORT = 7070;
/** Where the ConfigMap is mounted, and where the coordinator writes its result. */
export const CONFIG_DIR = "/etc/rtbench";
export const RESULTS_DIR = "/results";

export interface ManifestOptions {
  scenario: Scenario;
  /** The scenario file's text, mounted into the coordinator as it was written. */
  scenarioText: string;
  /** `scenario.yaml` or `scenario.json`: the key (and file name) in the ConfigMap. */
  scenarioKey: string;
  workers: number;
  image: string;
  /** Prefix of every object's name; a DNS label of at most 40 characters. */
  name: string;
  namespace: string | null;
  unsafeSysctls: boolean;
  /**
   * How long the coordinator waits for all its workers (`rtbench run
   * --worker-wait`), ms: on a cluster that covers scheduling N pods and
   * pulling the image on every node.
   */
  workerWaitMs: number;
  sizes: RunSizes;
  version: string;
}

export function serviceName(name: string): string {
  return `${name}-coordinator`;
}

export function labels(options: ManifestOptions, component?: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "rtbench",
    "app.kubernetes.io/instance": options.name,
    "app.kubernetes.io/version": options.version,
    ...(component ? { "app.kubernetes.io/component": component } : {}),
  };
}

/** Pods of this run with that component: what a Service or an affinity term selects. */
export function selector(options: ManifestOptions, component: string): Record<string, string> {
  return {
    "app.kubernetes.io/instance": options.name,
    "app.kubernetes.io/component": component,
  };
}

export function metadata(options: ManifestOptions, name: string, component?: string) {
  return {
    name,
    ...(options.namespace ? { namespace: options.namespace } : {}),
    labels: labels(options, component),
  };
}
