import type { ServiceName } from "../shared/brokers.js";

/**
 * A process a broker needs (Redis for the `redis` broker), as rtbench starts
 * one for a run or for `rtbench serve`: on loopback, on a free port, owned by
 * rtbench and stopped by its PID.
 */
export interface BackingService {
  readonly name: ServiceName;
  /** How users call it in messages ("Redis"). */
  readonly title: string;
  /** The program rtbench starts ("redis-server"). */
  readonly command: string;
  /** Environment variable naming a running instance to use instead of starting one. */
  readonly urlEnv: string;
  /** How to install `command`, for the message when it is missing. */
  readonly installHint: string;
  /** Whether `command` can be started here (it is on PATH). */
  available(): boolean;
  /** Starts a fresh instance; resolves once it accepts connections. */
  start(options?: StartServiceOptions): Promise<RunningService>;
  /**
   * The operations of a running instance rtbench was given (`urlEnv`, a
   * flag) and did not start, at its client URL `url`, or why it cannot say
   * (a NATS rtbench did not start: its monitoring port is unknown). One
   * rtbench started answers for itself (RunningService.operationCounts).
   */
  operationCounts(url: string): Promise<OperationCounts>;
}

/** Operations by kind (Redis command, NATS message direction), or why there are none. */
export type OperationCounts =
  | { readonly counts: Record<string, number> }
  | { readonly counts: null; readonly reason: string };

export interface StartServiceOptions {
  /** Port on 127.0.0.1; a free one when omitted. */
  port?: number;
  readyTimeoutMs?: number;
}

/** One process of a backing service that rtbench started. */
export interface RunningService {
  /** What the broker connects to (`redis://127.0.0.1:PORT`). */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /**
   * The operations it performed since it started, by kind, read from the
   * service itself (Redis: `INFO commandstats`; NATS: /varz on the
   * monitoring port rtbench opened for it), or why it cannot say. A restart
   * (same ports) starts the counts again at 0.
   */
  operationCounts(): Promise<OperationCounts>;
  /** Stops it by its PID (SIGTERM, then SIGKILL) and removes what it stored. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * SIGKILLs it, as a crash would, and keeps its data directory (NATS's
   * JetStream store) for restart(). Safe to call twice.
   */
  kill(): Promise<void>;
  /**
   * Stops it if it still runs, then starts it again on the same port (fault
   * injection). Redis (no persistence) comes back empty; NATS comes back
   * with its JetStream store.
   */
  restart(): Promise<RunningService>;
}
