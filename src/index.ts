/**
 * rtbench as a library: the same pieces the CLI uses, for scripts and other
 * test harnesses.
 *
 *   import { loadScenario, runScenario, renderTable } from "rtbench";
 *   const result = await runScenario(await loadScenario("scenarios/quickstart.yaml"));
 *   console.log(renderTable(result));
 */
export {
  type ReferenceServerOptions,
  type RunningServer,
  startReferenceServer,
} from "../reference-server/index.js";
export {
  type CompareOptions,
  type Comparison,
  compareResults,
} from "./gate/compare.js";
export { medianResult } from "./gate/repeat.js";
export { readResultFile } from "./gate/result-file.js";
export { compareSamples, type SampleComparison } from "./gate/stats.js";
export { evaluateThresholds, type ThresholdOutcome } from "./gate/thresholds.js";
export type { RunProgress } from "./load/protocol-run.js";
export { type RunOptions, runScenario } from "./load/run.js";
export type { Measure } from "./measures/measure.js";
export { getMetric, listMetrics, type MetricInfo } from "./measures/names.js";
export { registerMeasure, unregisterMeasure } from "./measures/registry.js";
export type { ProtocolTimeline } from "./metrics/protocol-timeline.js";
export type { HistogramSummary, ProtocolResult, RunResult } from "./metrics/types.js";
export { renderHtml } from "./report/html.js";
export { renderComparisonHtml } from "./report/html-compare.js";
export { renderMarkdown } from "./report/markdown.js";
export { renderTable } from "./report/table.js";
export { loadScenario, parseScenario } from "./scenario/load.js";
export { validateThresholds } from "./scenario/thresholds.js";
export type { Fault, ReconnectPolicy, Scenario } from "./scenario/types.js";
export { type ErrorCode, EXIT_CODES, RtbenchError } from "./shared/errors.js";
export {
  type ProtocolName,
  registerTransport,
  type TransportDescriptor,
  transportNames,
  transports,
} from "./shared/transports.js";
