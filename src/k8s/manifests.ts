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
 *
 * The two small objects are built here; each Job has its file
 * (coordinator-job.ts, worker-job.ts), what they share is job-parts.ts, and
 * the options, names and labels of every object are run-objects.ts.
 */
import type { IJob } from "kubernetes-models/batch/v1/Job";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IService } from "kubernetes-models/v1/Service";
import { coordinatorJob } from "./coordinator-job.js";
import {
  COORDINATOR_PORT,
  type ManifestOptions,
  metadata,
  selector,
  serviceName,
} from "./run-objects.js";
import { COORDINATOR_SCRIPT, RESULT_SCRIPT } from "./scripts.js";
import { workerJob } from "./worker-job.js";

export type RunManifest = IConfigMap | IService | IJob;

export function buildManifests(options: ManifestOptions): RunManifest[] {
  return [configMap(options), service(options), coordinatorJob(options), workerJob(options)];
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
