import { type BrokerKind, brokerInfo, type ServiceName } from "../shared/brokers.js";
import { natsService } from "./nats.js";
import { redisService } from "./redis.js";
import type { BackingService, OperationCounts, RunningService } from "./types.js";

/** One backing service per name a broker row in src/shared/brokers.ts can ask for. */
export const SERVICES: Record<ServiceName, BackingService> = {
  redis: redisService,
  nats: natsService,
};

/** The backing service broker `kind` needs, or null when it runs inside the server. */
export function serviceFor(kind: BrokerKind): BackingService | null {
  const { service } = brokerInfo(kind);
  return service === null ? null : SERVICES[service];
}

/** The backing service a broker URL names by its scheme (`redis:`, `nats:`), or null. */
export function serviceAt(url: string): BackingService | null {
  let scheme: string;
  try {
    scheme = new URL(url).protocol;
  } catch {
    return null;
  }
  return Object.values(SERVICES).find((service) => service.schemes.includes(scheme)) ?? null;
}

/** The operations of the service at `url`, as that service reads them (see BackingService). */
export async function operationCountsAt(url: string): Promise<OperationCounts> {
  const service = serviceAt(url);
  if (service === null) return { counts: null, reason: `no backing service serves ${url}` };
  return service.operationCounts(url);
}

export interface ProvidedService {
  service: BackingService;
  /** What the server instances connect their broker to. */
  url: string;
  /** The process rtbench started for this; null when a running one was named. */
  started: RunningService | null;
}

export interface ProvideServiceOptions {
  /** A running instance to use (a flag or an option); wins over `env`. */
  url?: string;
  /** Where to look for the service's URL variable (REDIS_URL); not consulted when omitted. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Makes the backing service of broker `kind` available: a named running
 * instance when there is one, else a fresh process the caller must stop.
 * Null when the broker needs no service.
 */
export async function provideService(
  kind: BrokerKind,
  options: ProvideServiceOptions = {},
): Promise<ProvidedService | null> {
  const service = serviceFor(kind);
  if (service === null) return null;
  const given = options.url || options.env?.[service.urlEnv];
  if (given) return { service, url: given, started: null };
  const started = await service.start();
  return { service, url: started.url, started };
}
