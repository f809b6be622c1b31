import type { IPodSecurityContext } from "kubernetes-models/v1/PodSecurityContext";
import type { ISecurityContext } from "kubernetes-models/v1/SecurityContext";
import type { Scenario } from "../scenario/types.js";
import { type ManifestOptions, selector } from "./run-objects.js";
import type { PodSize } from "./sizing.js";

/**
 * What the run's two Jobs (coordinator-job.ts, worker-job.ts) share: the
 * deadline that bounds them, how their pods are confined (non-root, no
 * privileges, read-only root, sysctls), sized and spread over nodes, and
 * their scratch volume.
 */

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

/** Setup of a run besides its timeline (servers, handshakes), and slack for the bound (assumed). */
const PER_RUN_SETUP_SECONDS = 60;
const DEADLINE_SLACK_SECONDS = 300;

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

export const CONTAINER_SECURITY: ISecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

export function podSecurity(sysctls: { name: string; value: string }[]): IPodSecurityContext {
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
export function resources(size: PodSize) {
  return {
    requests: { cpu: `${Math.round(size.cores * 1000)}m`, memory: `${size.memoryMiB}Mi` },
    limits: { memory: `${size.memoryMiB * 2}Mi` },
  };
}

/** Prefer nodes without pods of `component` of this run (preferred: N may exceed the nodes). */
export function avoid(options: ManifestOptions, component: string) {
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

export const TMP_VOLUME = { name: "tmp", emptyDir: {} };
export const TMP_MOUNT = { name: "tmp", mountPath: "/tmp" };
