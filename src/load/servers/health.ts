import { connect as tlsConnect } from "node:tls";
import { runFailed } from "../../shared/errors.js";
import { classifyFailure, type Failure, TLS_REASONS } from "../../util/failure.js";
import { tcpConnectError } from "../../util/net.js";
import { redactText, splitCredentials } from "../../util/redact.js";

/** One health request gets this long to answer. */
const ATTEMPT_TIMEOUT_MS = 2000;
const RETRY_MS = 100;
const TLS_PROBE_MS = 1000;
/**
 * Refused connections for this long mean nothing listens and nothing will:
 * a server that is still starting binds its port within a moment.
 */
export const REFUSED_GRACE_MS = 2000;

/**
 * Waits until every URL answers `path` (the reference protocol's /healthz)
 * with 200. When one does not in time, the error says why the last attempt
 * failed: connection refused, timed out, the HTTP status, not HTTP, TLS
 * expected. What waiting cannot change fails at once: a 404 (no such
 * route: not the reference protocol), TLS on one side only, or refused
 * connections for `refusedGraceMs`. Credentials in a URL are sent as Basic
 * authorization and never printed.
 */
export async function waitHealthy(
  urls: string[],
  timeoutMs = 15_000,
  signal?: AbortSignal,
  path = "/healthz",
  refusedGraceMs = REFUSED_GRACE_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const url of urls) {
    const { url: bare, authorization } = splitCredentials(url);
    const headers: Record<string, string> = authorization ? { authorization } : {};
    let refusedSinceMs: number | null = null;
    for (;;) {
      const failure = await checkHealth(`${bare}${path}`, headers);
      if (failure === null) break;
      refusedSinceMs =
        failure.kind === "connection refused" ? (refusedSinceMs ?? Date.now()) : null;
      const permanent = permanentReason(failure, path, refusedSinceMs, refusedGraceMs);
      if (permanent !== null) throw runFailed(redactText(`${url}${path}: ${permanent}`));
      if (Date.now() > deadline || signal?.aborted) {
        throw runFailed(
          redactText(`${url}${path} did not answer 200 within ${timeoutMs} ms: ${failure.reason}`),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}

/** Why waiting longer cannot help, or null while it still may. */
function permanentReason(
  failure: Failure,
  path: string,
  refusedSinceMs: number | null,
  refusedGraceMs: number,
): string | null {
  if (failure.kind === "HTTP status" && failure.reason === "HTTP 404") {
    return `HTTP 404: the server has no ${path} route, so it does not speak rtbench's reference protocol (for another server set target.protocol: custom, nchan or socketio; see "Measuring your own server")`;
  }
  // TLS mistakes are settings, and waiting does not mend them (util/failure.ts says which).
  if (
    failure.kind === "TLS expected" ||
    failure.kind === "not TLS" ||
    failure.kind === "TLS certificate"
  ) {
    return failure.reason;
  }
  if (refusedSinceMs !== null && Date.now() - refusedSinceMs >= refusedGraceMs) {
    return `connection refused for ${refusedGraceMs} ms: nothing listens there (is the server running, on this port?)`;
  }
  return null;
}

/**
 * For a running target whose protocol has no health route: one TCP
 * connection per URL, so a closed port fails before the run (exit 3) with
 * that reason, not after a whole run that measured nothing. Refused
 * connections are retried for `refusedGraceMs`.
 */
export async function waitListening(
  urls: string[],
  refusedGraceMs = REFUSED_GRACE_MS,
  signal?: AbortSignal,
): Promise<void> {
  for (const url of urls) {
    const { hostname, port, protocol } = new URL(url);
    const portNumber = Number(port || (protocol === "https:" ? 443 : 80));
    const deadline = Date.now() + refusedGraceMs;
    for (;;) {
      const error = await tcpConnectError(hostname, portNumber);
      if (error === null) break;
      if (Date.now() >= deadline || signal?.aborted) {
        const { reason } = classifyFailure(error);
        throw runFailed(
          redactText(
            `${url}: no TCP connection (${reason}${reason === "connection refused" ? ` for ${refusedGraceMs} ms: nothing listens there; is the server running, on this port?` : ""})`,
          ),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}

/** Null when the URL answered 200; else why not. */
async function checkHealth(url: string, headers: Record<string, string>): Promise<Failure | null> {
  try {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS) });
    await response.arrayBuffer();
    if (response.ok) return null;
    return { kind: "HTTP status", reason: `HTTP ${response.status}` };
  } catch (error) {
    const failure = classifyFailure(error);
    // A TLS server hangs up on plain HTTP without a word: ask it for a handshake to be sure.
    if (
      url.startsWith("http:") &&
      (failure.kind === "connection reset" || failure.kind === "not HTTP") &&
      (await speaksTls(url))
    ) {
      return { kind: "TLS expected", reason: TLS_REASONS.tlsExpected };
    }
    return failure;
  }
}

function speaksTls(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: hostname,
      port: Number(port || 80),
      rejectUnauthorized: false,
      timeout: TLS_PROBE_MS,
    });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.once("secureConnect", () => done(true));
    socket.on("error", () => done(false));
    socket.once("timeout", () => done(false));
  });
}
