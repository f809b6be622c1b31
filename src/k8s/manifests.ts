/**
 * The Kubernetes objects of one distributed run (`rtbench k8s`). Pure: a
 * scenario and options in, plain objects out (the command writes them as
 * YAML). Typed with kubernetes-models' interfaces, which are generated from
 * Kubernetes' OpenAPI document, so a misspelt field fails the type check;
 * the tests validate the objects against the same models' schemas.
 *
 *   ConfigMap  NAME-scenario      the scenario file and the two pod scripts
 *   Service    NAME-coordinator   headless, port 7070: the workers' way in
 *   Job        NAME-coordinator   `rtbench run --workers N`, publishes and merges
 *   Job        NAME-workers       Indexed, N pods: `rtbench worker`, index from
 *                                 JOB_COMPLETION_INDEX (set by Kubernetes)
 */
import type { IJob } from "kubernetes-models/batch/v1/Job";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IPodSecurityContext } from "kubernetes-models/v1/PodSecurityContext";
import type { ISecurityContext } from "kubernetes-models/v1/SecurityContext";
import type { IService } from "kubernetes-models/v1/Service";
import type { Scenario } from "../scenario/types.js";
import { COORDINATOR_SCRIPT, RESULT_SCRIPT } from "./scripts.js";
import type { PodSize, RunSizes } from "./sizing.js";

/** The port the coordinator listens on for its workers' control connections. */
export const COORDINATOR_PORT = 7070;
/** Where the ConfigMap is mounted, and where the coordinator writes its result. */
export const CONFIG_DIR = "/etc/rtbench";
export const RESULTS_DIR = "/results";
/** The node image's `node` user: rtbench runs as it, never as root. */
const RUN_AS_USER = 1000;

/**
 * Sysctls of every worker pod. `ip_local_port_range` is one of Kubernetes'
 * safe (namespaced, per-pod) sysctls: each client takes a source port, and
 * the default range (32768-60999) holds 28,232 connections per destination
 * address and port; this one holds 64,512.
 */
export const WORKER_SYSCTLS = [{ name: "net.ipv4.ip_local_port_range", value: "1024 65535" }];
/**
 * Listen queues, for the pod that listens (the coordinator: its workers'
 * control connections, and the reference servers it starts). Namespaced but
 * "unsafe" to Kubernetes: a pod asking for them does not start unless the
 * node's kubelet allows them (`--allowed-unsafe-sysctls`), so they are only
 * written with `--unsafe-sysctls`.
 */
export const UNSAFE_SYSCTLS = [
  { name: "net.core.somaxconn", value: "65535" },
  { name: "net.ipv4.tcp_max_syn_backlog", value: "65535" },
];

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

export type RunManifest = IConfigMap | IService | IJob;

/** New pods a worker's index gets after a failure, before Kubernetes marks the index failed. */
const WORKER_RETRIES = 2;
/** Setup of a run besides its timeline (servers, handshakes), and slack for the bound (assumed). */
const PER_RUN_SETUP_SECONDS = 60;
const DEADLINE_SLACK_SECONDS = 300;

export function buildManifests(options: ManifestOptions): RunManifest[] {
  return [configMap(options), service(options), coordinatorJob(options), workerJob(options)];
}

export function serviceName(name: string): string {
  return `${name}-coordinator`;
}

/** What every worker runs: `rtbench worker`, its index left to JOB_COMPLETION_INDEX. */
export function workerArgs(name: string): string[] {
  return ["worker", "--coordinator", `ws://${serviceName(name)}:${COORDINATOR_PORT}`];
}

/** What the coordinator runs (through coordinator.sh, which prepends `rtbench`). */
export function coordinatorArgs(options: ManifestOptions): string[] {
  return [
    "run",
    `${CONFIG_DIR}/${options.scenarioKey}`,
    "--workers",
    String(options.workers),
    "--coordinator-listen",
    `0.0.0.0:${COORDINATOR_PORT}`,
    "--worker-wait",
    // Whole seconds: the plainest duration a parser accepts.
    `${Math.ceil(options.workerWaitMs / 1000)}s`,
    "--out",
    RESULTS_DIR,
  ];
}

/**
 * Bounds both Jobs: every protocol and variant runs one after another, each
 * with its ramp-up, duration and drain, after the coordinator has waited for
 * its workers. A run that hangs is ended by Kubernetes, not left running.
 */
export function deadlineSeconds(scenario: Scenario, workerWaitMs: number): number {
  const runs = scenario.protocols.length * Math.max(1, scenario.variants.length);
  const perRunMs = scenario.clients.rampUpMs + scenario.durationMs + scenario.drainMs;
  return (
    Math.ceil((runs * perRunMs) / 1000) +
    runs * PER_RUN_SETUP_SECONDS +
    Math.ceil(workerWaitMs / 1000) +
    DEADLINE_SLACK_SECONDS
  );
}

function labels(options: ManifestOptions, component?: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "rtbench",
    "app.kubernetes.io/instance": options.name,
    "app.kubernetes.io/version": options.version,
    ...(component ? { "app.kubernetes.io/component": component } : {}),
  };
}

/** Pods of this run with that component: what a Service or an affinity term selects. */
function selector(options: ManifestOptions, component: string): Record<string, string> {
  return {
    "app.kubernetes.io/instance": options.name,
    "app.kubernetes.io/component": component,
  };
}

function metadata(options: ManifestOptions, name: string, component?: string) {
  return {
    name,
    ...(options.namespace ? { namespace: options.namespace } : {}),
    labels: labels(options, component),
  };
}

function configMap(options: ManifestOptions): IConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: metadata(options, `${options.name}-scenario`),
    data: {
      [options.scenarioKey]: options.scenarioText,
      "coordinator.sh": COORDINATOR_SCRIPT,
      "result.sh": RESULT_SCRIPT,
    },
  };
}

function service(options: ManifestOptions): IService {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: metadata(options, serviceName(options.name), "coordinator"),
    spec: {
      // Headless: the name resolves to the coordinator pod's own address once
      // it is ready (listening), with no proxy between workers and coordinator.
      clusterIP: "None",
      selector: selector(options, "coordinator"),
      ports: [{ name: "control", port: COORDINATOR_PORT, targetPort: COORDINATOR_PORT }],
    },
  };
}

const CONTAINER_SECURITY: ISecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

function podSecurity(sysctls: { name: string; value: string }[]): IPodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: RUN_AS_USER,
    runAsGroup: RUN_AS_USER,
    seccompProfile: { type: "RuntimeDefault" },
    ...(sysctls.length > 0 ? { sysctls } : {}),
  };
}

/**
 * Requests from the shard plan; a memory limit at twice the request, so one
 * worker cannot starve its node, and no CPU limit: CFS throttling would
 * stall the event loop in bursts and show up as latency.
 */
function resources(size: PodSize) {
  return {
    requests: { cpu: `${Math.round(size.cores * 1000)}m`, memory: `${size.memoryMiB}Mi` },
    limits: { memory: `${size.memoryMiB * 2}Mi` },
  };
}

/** Prefer nodes without pods of `component` of this run (preferred: N may exceed the nodes). */
function avoid(options: ManifestOptions, component: string) {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: {
            topologyKey: "kubernetes.io/hostname",
            labelSelector: { matchLabels: selector(options, component) },
          },
        },
      ],
    },
  };
}

const TMP_VOLUME = { name: "tmp", emptyDir: {} };
const TMP_MOUNT = { name: "tmp", mountPath: "/tmp" };

function coordinatorJob(options: ManifestOptions): IJob {
  const configMount = { name: "scenario", mountPath: CONFIG_DIR, readOnly: true };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: metadata(options, `${options.name}-coordinator`, "coordinator"),
    spec: {
      // A benchmark run is not retried: a second run would be a different measurement.
      backoffLimit: 0,
      activeDeadlineSeconds: deadlineSeconds(options.scenario, options.workerWaitMs),
      template: {
        metadata: { labels: labels(options, "coordinator") },
        spec: {
          restartPolicy: "Never",
          securityContext: podSecurity(options.unsafeSysctls ? UNSAFE_SYSCTLS : []),
          affinity: avoid(options, "worker"),
          containers: [
            {
              name: "coordinator",
              image: options.image,
              command: ["sh", `${CONFIG_DIR}/coordinator.sh`],
              args: coordinatorArgs(options),
              ports: [{ name: "control", containerPort: COORDINATOR_PORT }],
              // Ready (and so in the Service's DNS) once it listens for workers.
              readinessProbe: {
                tcpSocket: { port: COORDINATOR_PORT },
                periodSeconds: 1,
              },
              resources: resources(options.sizes.coordinator),
              securityContext: CONTAINER_SECURITY,
              volumeMounts: [configMount, { name: "results", mountPath: RESULTS_DIR }, TMP_MOUNT],
            },
            {
              name: "result",
              image: options.image,
              command: ["sh", `${CONFIG_DIR}/result.sh`],
              resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
              securityContext: CONTAINER_SECURITY,
              volumeMounts: [
                configMount,
                { name: "results", mountPath: RESULTS_DIR, readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: "scenario", configMap: { name: `${options.name}-scenario` } },
            { name: "results", emptyDir: {} },
            TMP_VOLUME,
          ],
        },
      },
    },
  };
}

function workerJob(options: ManifestOptions): IJob {
  const host = serviceName(options.name);
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: metadata(options, `${options.name}-workers`, "worker"),
    spec: {
      completionMode: "Indexed",
      completions: options.workers,
      parallelism: options.workers,
      // A worker that cannot reach the coordinator exits non-zero and gets
      // another pod, twice at most. Counted per index (Kubernetes 1.29+), so
      // one failing worker never ends the Job and with it the healthy ones:
      // the coordinator judges a worker that is gone (the run ends partial).
      backoffLimitPerIndex: WORKER_RETRIES,
      // Clusters before 1.29 ignore the field above; this bound keeps the
      // same total there.
      backoffLimit: WORKER_RETRIES * options.workers,
      activeDeadlineSeconds: deadlineSeconds(options.scenario, options.workerWaitMs),
      template: {
        metadata: { labels: labels(options, "worker") },
        spec: {
          restartPolicy: "Never",
          securityContext: podSecurity(WORKER_SYSCTLS),
          affinity: avoid(options, "worker"),
          initContainers: [
            {
              // The Service's name resolves once the coordinator listens:
              // waiting here keeps workers from spending their retries on a
              // coordinator that is still being scheduled.
              name: "wait-for-coordinator",
              image: options.image,
              command: ["sh", "-c", `until getent hosts ${host} >/dev/null; do sleep 1; done`],
              resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
              securityContext: CONTAINER_SECURITY,
            },
          ],
          containers: [
            {
              name: "worker",
              image: options.image,
              args: workerArgs(options.name),
              resources: resources(options.sizes.worker),
              securityContext: CONTAINER_SECURITY,
              volumeMounts: [TMP_MOUNT],
            },
          ],
          volumes: [TMP_VOLUME],
        },
      },
    },
  };
}
