import type { ClientNetwork } from "../../clients/shaped-socket.js";
import type { ClientHandlers, TransportClient } from "../../clients/types.js";
import type { TimerHandle } from "../../util/clock.js";
import { isSourceRefused } from "../../util/failure.js";
import type { ClientAssignment } from "../shards/assign.js";
import { admissionDelayMs, backoffDelayMs } from "./backoff.js";
import type { FallbackLadder } from "./fallback.js";
import type { SubscriberFleet } from "./subscriber-fleet.js";

/** What the dialer asks of the subscriber it connects (subscriber.ts). */
export interface Dialed extends Required<ClientHandlers> {
  readonly assignment: ClientAssignment;
  /** The network the client sits behind; undefined: loopback. */
  readonly network: ClientNetwork | undefined;
  /** Where a resumed connection starts: the id of the last message received. */
  readonly cursor: string | undefined;
  /** With clients.fallback: the transports it tries in turn; null: the fleet's protocol only. */
  readonly fallback: FallbackLadder | null;
  /** Broken and not back yet: its attempts are reconnects. */
  isBroken(): boolean;
}

/**
 * How one subscriber gets connected, one attempt at a time: each to the
 * instance its route names (after a failure the next one, as a load
 * balancer would), again after the reconnect policy's delay (backoff.ts) or
 * when a full server said to come back (retry-after.ts), through
 * clients.fallback's transports in turn (fallback.ts). What a ready
 * connection does is the subscriber's; it hands its breaks back here.
 */
export class Dialer {
  /** The connection under way or ready; null between attempts. */
  client: TransportClient | null = null;
  /** Tried at least once (a client whose ramp-up slot never came did not try). */
  attempted = false;
  /** URL indexes in failover order (the client's own first), and where in that list it is. */
  private readonly route: number[];
  private routePos = 0;
  private retryTimer: TimerHandle | null = null;
  /** Failed attempts since the last time the client was ready. */
  private failures = 0;
  /** The reconnect delay the server gave on the connection that broke (SSE `retry:`). */
  private serverRetryMs: number | undefined;

  constructor(
    private readonly fleet: SubscriberFleet,
    private readonly owner: Dialed,
  ) {
    const { urls } = fleet.spec;
    const own = Math.max(0, urls.indexOf(owner.assignment.baseUrl));
    this.route =
      owner.assignment.route ??
      Array.from({ length: urls.length }, (_, k) => (own + k) % urls.length);
  }

  /** The instance (index into the run's URLs) the client is on or tries next. */
  get urlIndex(): number {
    return this.route[this.routePos] as number;
  }

  /**
   * One connection attempt to the current URL. `sameAttempt`: the system
   * refused the client's source endpoint, so the attempt goes out again from
   * the system's choice and is not counted twice.
   */
  attempt(sameAttempt = false): void {
    const fleet = this.fleet;
    if (fleet.isClosed()) return;
    const { spec, context } = fleet;
    const { assignment } = this.owner;
    if (!sameAttempt) {
      if (this.owner.isBroken()) fleet.countAttempt();
      fleet.timeline.countAttempt(fleet.clock.now());
    }
    this.attempted = true;
    const fallback = this.owner.fallback;
    const client = fleet.createClient(fallback ? fallback.protocol : spec.protocol, {
      baseUrl: spec.urls[this.urlIndex] ?? assignment.baseUrl,
      channel: assignment.channel,
      user: assignment.user,
      source: assignment.source,
      since: spec.reconnect.resume ? this.owner.cursor : undefined,
      settings: fallback ? fallback.settings : spec.settings,
      requestTimeoutMs: fleet.requestTimeoutMs,
      handlers: fallback ?? this.owner,
      context,
      network: this.owner.network,
    });
    this.client = client;
    fallback?.begin(fleet.clock.now(), () => this.stepTimedOut(client));
    client.connect().catch((error: unknown) => {
      if (this.client !== client) return;
      this.client = null;
      client.close();
      if (assignment.source !== undefined && isSourceRefused(error)) {
        // A closing socket of this client's still holds its endpoint towards this server.
        assignment.source = undefined;
        this.attempt(true);
        return;
      }
      this.attemptFailed(client, error, false);
    });
  }

  /** The client is ready: the next break counts its failures from zero. */
  ready(): void {
    this.failures = 0;
  }

  /** The ready connection `client` broke (the subscriber noted it): closed, and the next attempt planned. */
  broke(client: TransportClient): void {
    this.serverRetryMs = client.retryMs;
    this.client = null;
    client.close();
    this.retryLater(client.retryAfterMs);
  }

  /** No attempt planned any more (the clients stop). */
  cancel(): void {
    if (this.retryTimer) this.fleet.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.owner.fallback?.disarm();
  }

  /** Closes the connection on purpose (churn, or the clients stop): nothing is planned. */
  hangUp(): void {
    this.client?.close();
    this.client = null;
  }

  /** clients.fallback: the step under way showed no sign of life in time; it is given up. */
  private stepTimedOut(client: TransportClient): void {
    if (this.client !== client) return;
    this.client = null;
    client.close();
    const error = new Error(
      `${client.protocol} not ready within ${this.fleet.spec.fallback?.stepTimeoutMs} ms (clients.fallbackTimeout)`,
    );
    this.attemptFailed(client, error, true);
  }

  /** An attempt failed (refused, an error, or a fallback step's timeout): the next step, or later. */
  private attemptFailed(client: TransportClient, error: unknown, timedOut: boolean): void {
    const fleet = this.fleet;
    // Before its first ready a fallback client goes straight on to its next transport.
    if (this.owner.fallback?.stepFailed(timedOut)) {
      this.attempt();
      return;
    }
    fleet.noteConnectError(error);
    if (this.owner.isBroken()) fleet.counters.failedReconnects++;
    else fleet.counters.connectFailures++;
    this.failures++;
    // As a load balancer would: the next attempt goes to the next instance of the route
    // (round-robin, or the channel's next instance on the hash ring).
    this.routePos = (this.routePos + 1) % this.route.length;
    this.retryLater(client.retryAfterMs);
  }

  /** Plans the next attempt; `toldMs`: a full server said when to come back (retry-after.ts). */
  private retryLater(toldMs?: number): void {
    const fleet = this.fleet;
    if (fleet.isClosed() || this.retryTimer) return;
    const policy = fleet.spec.reconnect;
    if (this.owner.isBroken() && this.failures >= policy.maxRetries) {
      fleet.counters.gaveUp++;
      return;
    }
    let delayMs: number;
    if (policy.honorServerRetry && toldMs !== undefined) {
      fleet.counters.admissionWaits++;
      delayMs = admissionDelayMs(toldMs, fleet.random);
    } else {
      const firstDelayMs =
        policy.honorServerRetry && this.serverRetryMs !== undefined
          ? this.serverRetryMs
          : policy.initialDelayMs;
      delayMs = backoffDelayMs(policy, this.failures + 1, fleet.random, firstDelayMs);
    }
    this.retryTimer = fleet.clock.setTimeout(() => {
      this.retryTimer = null;
      this.attempt();
    }, delayMs);
  }
}
