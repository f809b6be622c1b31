/** Metric paths that subtract a worker's receive time from the publisher's stamp. */
export function isOneWayLatency(path: string): boolean {
  return path.startsWith("latency.") || path.startsWith("latencyFromSend.");
}
