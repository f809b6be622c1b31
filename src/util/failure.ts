/**
 * Why a request or connection failed, in a few words a user can act on:
 * nothing listening, no answer in time, an HTTP error status, an answer that
 * is not HTTP, a server that wants TLS (or does not speak it). Errors come
 * from node:net, undici, ws and node:http, each with its own codes; this is
 * the one place that knows them.
 */
export type FailureKind =
  | "connection refused"
  | "timed out"
  | "connection reset"
  | "HTTP status"
  | "not HTTP"
  | "TLS expected"
  | "not TLS"
  | "TLS certificate"
  | "host not found"
  | "other";

export interface Failure {
  kind: FailureKind;
  /** The kind in words, with the status for `HTTP status` ("HTTP 500"). */
  reason: string;
}

const TIMEOUT_CODES = new Set([
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ABORT_ERR",
]);
const RESET_CODES = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED"]);
const CERT_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|UNABLE_TO_GET_ISSUER/;
/** Certificate errors a different trust fixes: no chain to a trusted CA. */
const UNTRUSTED_CODE = /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

/**
 * TLS failures a user fixes with a setting: each reason names the cause and
 * the setting (or URL) that fixes it, in one line. Only the error's code is
 * shown, never a certificate's content or key material.
 */
export const TLS_REASONS = {
  notTls: "not TLS: the server answered in plain text; use http:// (ws://) in the target URL",
  tlsExpected: "TLS expected: the server speaks TLS; use https:// (wss://) in the target URL",
  untrusted: (code: string) =>
    `TLS certificate not trusted (${code}): its CA is not one the client trusts; set target.tls.ca to the CA's PEM file (target.tls.insecure: true skips the check)`,
  expired: (code: string) =>
    `TLS certificate expired or not yet valid (${code}): the server needs a current certificate (target.tls.insecure: true skips the check)`,
  wrongHost: (code: string) =>
    `TLS certificate is for another host name (${code}): set target.tls.servername to a name it lists, or use that name in the URL`,
  other: (code: string) =>
    `TLS certificate not accepted (${code}) (target.tls.ca, target.tls.servername or target.tls.insecure)`,
} as const;

function certificateReason(code: string): string {
  if (UNTRUSTED_CODE.test(code)) return TLS_REASONS.untrusted(code);
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID")
    return TLS_REASONS.expired(code);
  if (code.includes("ALTNAME")) return TLS_REASONS.wrongHost(code);
  return TLS_REASONS.other(code);
}
const TLS_WRONG_VERSION = /wrong version number|WRONG_VERSION_NUMBER|packet length too long/i;

/** The codes and messages of an error and of its causes (undici wraps the socket's error). */
function chain(error: unknown): { codes: string[]; names: string[]; messages: string[] } {
  const codes: string[] = [];
  const names: string[] = [];
  const messages: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (typeof current !== "object") {
      messages.push(String(current));
      break;
    }
    const e = current as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
    if (typeof e.code === "string") codes.push(e.code);
    if (typeof e.name === "string") names.push(e.name);
    if (typeof e.message === "string") messages.push(e.message);
    current = e.cause;
  }
  return { codes, names, messages };
}

export function classifyFailure(error: unknown): Failure {
  const { codes, names, messages } = chain(error);
  const text = messages.join(" ");
  const has = (code: string) => codes.includes(code);
  if (has("ECONNREFUSED")) return { kind: "connection refused", reason: "connection refused" };
  if (has("ENOTFOUND") || has("EAI_AGAIN")) {
    return { kind: "host not found", reason: "host not found" };
  }
  if (TLS_WRONG_VERSION.test(text) || has("ERR_SSL_WRONG_VERSION_NUMBER")) {
    return { kind: "not TLS", reason: TLS_REASONS.notTls };
  }
  if (codes.some((c) => c.startsWith("HPE_")) || /parse error|invalid http/i.test(text)) {
    return tlsAlertInText(text)
      ? { kind: "TLS expected", reason: TLS_REASONS.tlsExpected }
      : { kind: "not HTTP", reason: "not HTTP: the answer was not an HTTP response" };
  }
  const certificate = codes.find((c) => CERT_CODE.test(c));
  if (certificate !== undefined) {
    return { kind: "TLS certificate", reason: certificateReason(certificate) };
  }
  // "expected status 201, found 500": the status found, not the one expected.
  const status =
    /\b(?:found|answered)\s+(?:HTTP\s+)?([1-5]\d\d)\b/i.exec(text) ??
    /\bstatus(?: code)?\s+([1-5]\d\d)\b/i.exec(text);
  if (status) return { kind: "HTTP status", reason: `HTTP ${status[1]}` };
  if (
    codes.some((c) => TIMEOUT_CODES.has(c)) ||
    names.includes("TimeoutError") ||
    /timed? ?out|no response within|no answer/i.test(text)
  ) {
    return { kind: "timed out", reason: "timed out" };
  }
  if (codes.some((c) => RESET_CODES.has(c)) || /socket hang up|other side closed/i.test(text)) {
    return { kind: "connection reset", reason: "connection reset (closed without an answer)" };
  }
  // The innermost message says most ("fetch failed" wraps the socket's own error).
  return { kind: "other", reason: messages[messages.length - 1] ?? String(error) };
}

/** A TLS alert record (0x15 0x03) where an HTTP status line should be: a TLS server. */
function tlsAlertInText(text: string): boolean {
  return text.includes("\u0015\u0003");
}

/**
 * The system refused a connection's explicit source endpoint: the address
 * and port are taken (EADDRINUSE), or a socket in TIME_WAIT towards the same
 * server still holds them (EADDRNOTAVAIL). Clients report errors as text in
 * places, so the message counts as much as the code.
 */
export function isSourceRefused(error: unknown): boolean {
  const { codes, messages } = chain(error);
  return (
    codes.some((code) => code === "EADDRINUSE" || code === "EADDRNOTAVAIL") ||
    messages.some((message) => /\bEADDR(?:INUSE|NOTAVAIL)\b/.test(message))
  );
}
