/**
 * One presence list the parent asked a server for while the clients ran
 * (measures/presence-sampler.ts), held by the presence audit against
 * what rtbench knows of its own clients (measures/presence-accuracy.ts).
 */
export interface PresenceSample {
  channel: string;
  /** When the request was sent and answered, monotonic ms. */
  startMs: number;
  endMs: number;
  users: string[];
}
