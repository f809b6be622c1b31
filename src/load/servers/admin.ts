/**
 * The reference server's admin routes (served with --admin), asked over
 * HTTP: a fault's drop of connections, and each instance's own log of the
 * connections it closed (missed heartbeats, writes that timed out), which
 * the result sets beside what the clients saw.
 */

import { authHeaders } from "../../shared/server-launch.js";

const DROP_TIMEOUT_MS = 5000;

/** `POST /admin/drop` on one reference server instance (started with --admin). */
export async function postDrop(
  instance: { name: string; url: string },
  fraction: number,
  /** The server's token (`server.auth`); null: none. */
  auth: string | null = null,
): Promise<number> {
  const url = `${instance.url}/admin/drop`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...authHeaders(auth) },
      body: JSON.stringify({ fraction }),
      signal: AbortSignal.timeout(DROP_TIMEOUT_MS),
    });
  } catch (error) {
    throw new Error(`${instance.name}: POST ${url}: ${(error as Error).message}`, { cause: error });
  }
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`${instance.name}: POST ${url} answered ${response.status}: ${text}`);
  }
  const { dropped } = JSON.parse(text) as { dropped: number };
  return dropped;
}

/**
 * When each instance dropped connections for missing heartbeats (monotonic
 * ms), from the reference server's admin endpoint; empty where unavailable.
 */
export async function heartbeatTimeouts(
  urls: string[],
  auth: string | null,
  log: "heartbeat-timeouts" | "write-timeouts" = "heartbeat-timeouts",
): Promise<number[]> {
  const all: number[] = [];
  for (const url of urls) {
    try {
      const response = await fetch(`${url}/admin/${log}`, {
        headers: authHeaders(auth),
        signal: AbortSignal.timeout(5000),
      });
      if (!response.ok) continue;
      const body = (await response.json()) as { monotonicMs?: unknown };
      if (Array.isArray(body.monotonicMs)) all.push(...(body.monotonicMs as number[]));
    } catch {
      // an instance that is down has nothing to say
    }
  }
  return all;
}
