import type { IJob } from "kubernetes-models/batch/v1/Job";
import {
  avoid,
  CONTAINER_SECURITY,
  deadlineSeconds,
  podSecurity,
  resources,
  TMP_MOUNT,
  TMP_VOLUME,
  UNSAFE_SYSCTLS,
} from "./job-parts.js";
import {
  CONFIG_DIR,
  COORDINATOR_PORT,
  labels,
  type ManifestOptions,
  metadata,
  RESULTS_DIR,
} from "./run-objects.js";

/**
 * The coordinator's Job: one pod running `rtbench run --workers N` (through
 * coordinator.sh), listening for its workers, with a second container that
 * hands the result out once the run is over (result.sh).
 */

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

export function coordinatorJob(options: ManifestOptions): IJob {
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
