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

export interface ProvidedService {
  service: BackingService;
  /** What the server instances connect their broker to. */
  url: string;
  /** The process rtbench started for this; null when a running one was named. */
  started: RunningService | null;
  /** Its operations so far, as the service reads them (the started process, or the named instance). */
  operationCounts(): Promise<OperationCounts>;
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
  if (given) {
    return {
      service,
      url: given,
      started: null,
      operationCounts: () => service.operationCounts(given),
    };
  }
  const started = await service.start();
  return { service, url: started.url, started, operationCounts: () => started.operationCounts() };
}
