import type { IJob } from "kubernetes-models/batch/v1/Job";
import {
  avoid,
  CONTAINER_SECURITY,
  deadlineSeconds,
  podSecurity,
  resources,
  TMP_MOUNT,
  TMP_VOLUME,
  WORKER_SYSCTLS,
} from "./job-parts.js";
import {
  COORDINATOR_PORT,
  labels,
  type ManifestOptions,
  metadata,
  serviceName,
} from "./run-objects.js";

/**
 * The workers' Job: Indexed, N pods of `rtbench worker`, each taking its
 * index from JOB_COMPLETION_INDEX (set by Kubernetes), retried per index,
 * and started once the coordinator's name resolves.
 */

/** New pods a worker's index gets after a failure, before Kubernetes marks the index failed. */
const WORKER_RETRIES = 2;
/** What every worker runs: `rtbench worker`, its index left to JOB_COMPLETION_INDEX. */
export function workerArgs(name: string): string[] {
  return ["worker", "--coordinator", `ws://${serviceName(name)}:${COORDINATOR_PORT}`];
}

export function workerJob(options: ManifestOptions): IJob {
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
