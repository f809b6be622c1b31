import { connect as tlsConnect } from "node:tls";
import { runFailed } from "../shared/errors.js";
import { classifyFailure, type Failure } from "../util/failure.js";
import { redactText, splitCredentials } from "../util/redact.js";

/** One health request gets this long to answer. */
const ATTEMPT_TIMEOUT_MS = 2000;
const RETRY_MS = 100;
const TLS_PROBE_MS = 1000;

/**
 * Waits until every URL answers `path` (the reference protocol's /healthz)
 * with 200. When one does not in time, the error says why the last attempt
 * failed: connection refused, timed out, the HTTP status, not HTTP, TLS
 * expected. Credentials in a URL are sent as Basic authorization and never
 * printed.
 */
export async function waitHealthy(
  urls: string[],
  timeoutMs = 15_000,
  signal?: AbortSignal,
  path = "/healthz",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const url of urls) {
    const { url: bare, authorization } = splitCredentials(url);
    const headers: Record<string, string> = authorization ? { authorization } : {};
    for (;;) {
      const failure = await checkHealth(`${bare}${path}`, headers);
      if (failure === null) break;
      if (Date.now() > deadline || signal?.aborted) {
        throw runFailed(
          redactText(`${url}${path} did not answer 200 within ${timeoutMs} ms: ${failure.reason}`),
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
      return { kind: "TLS expected", reason: "TLS expected: the server speaks TLS (https://?)" };
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
