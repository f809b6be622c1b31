import { connect as netConnect, type Socket } from "node:net";
import {
  type ConnectionOptions,
  checkServerIdentity,
  createSecureContext,
  rootCertificates,
  type SecureContext,
  type TLSSocket,
  connect as tlsConnect,
} from "node:tls";
import { type ClientNetwork, ShapedSocket } from "./shaped-socket.js";

/**
 * How rtbench's clients speak TLS to an https:// or wss:// target
 * (`target.tls` in a scenario): whom to trust, which name to check, and
 * whether a reconnect resumes the last session to the same origin.
 */
export interface ClientTlsSettings {
  /** Extra trusted CA certificates (PEM text, not a path); undefined: the system's store only. */
  ca?: string;
  /** Skip certificate verification altogether (warned loudly by the run). */
  insecure: boolean;
  /** The name sent as SNI and checked against the certificate; default: the URL's host name. */
  servername?: string;
  /** Offer the last session of the origin on reconnect (RFC 8446 resumption). Default true. */
  sessionResumption: boolean;
}

export const DEFAULT_CLIENT_TLS: ClientTlsSettings = { insecure: false, sessionResumption: true };

/**
 * Where a connection's time went, for the split of `connect`: TCP
 * (SYN -> established), the TLS handshake, and HTTP (handshake done -> the
 * server's first byte: the upgrade answer or the response head). Recorded
 * per TCP connection a subscriber opens; the fleet keeps the histograms.
 */
export interface ConnectPhaseRecorder {
  tcp(ms: number): void;
  tls(ms: number, resumed: boolean): void;
  http(ms: number): void;
}

/** What one generator process keeps for TLS: the settings, resumable sessions, the phase recorder. */
export interface ClientTlsState {
  settings: ClientTlsSettings;
  /** The last session ticket each origin (host:port) gave, offered on the next connection. */
  sessions: Map<string, Buffer>;
  /**
   * One secure context for every connection of the process: building one
   * per connection parses the whole trust store each time. The system's
   * roots stay trusted next to `ca` (Node's `ca` option alone replaces them).
   */
  secureContext: SecureContext | undefined;
}

export function createClientTlsState(
  settings: ClientTlsSettings = DEFAULT_CLIENT_TLS,
): ClientTlsState {
  return {
    settings,
    sessions: new Map(),
    secureContext:
      settings.ca === undefined
        ? undefined
        : createSecureContext({ ca: [...rootCertificates, settings.ca] }),
  };
}

export interface ConnectTarget {
  host: string;
  port: number;
  /** Speak TLS on the connection (an https: or wss: URL). */
  secure: boolean;
  localAddress?: string;
  localPort?: number;
}

/**
 * A TCP connection to `target`, wrapped in TLS when the target is secure,
 * with `alpn` offered (h2 for SSE over HTTP/2, http/1.1 otherwise). Writes
 * made before the handshake ends are held by the TLS socket and sent after
 * it. When `phases` is given the connection's phases are recorded on it;
 * the HTTP phase only where nobody else reads the socket's handle (`h2`
 * sessions read it directly, and a 'data' listener would take their bytes).
 * With `network` (the client's `clients.network` profile) the TCP bytes go
 * through a ShapedSocket, beneath TLS when there is TLS; without one the
 * socket is the plain one, with no cost at all.
 */
export function connectSocket(
  target: ConnectTarget,
  tls: ClientTlsState | undefined,
  phases: ConnectPhaseRecorder | undefined,
  alpn: readonly string[] = HTTP1_ALPN,
  network?: ClientNetwork,
): Socket {
  const { host, port, localAddress, localPort } = target;
  const startedAt = performance.now();
  const tcp = netConnect({ host, port, localAddress, localPort, noDelay: true });
  // The shaped socket stands in for the TCP one: it has every member the clients and
  // node:tls use (write, the events, byte counts), though not the whole net.Socket type.
  const carrier =
    network === undefined ? tcp : (new ShapedSocket(tcp, network) as unknown as Socket);
  if (!target.secure) {
    if (phases !== undefined) timePlain(carrier, startedAt, phases, !alpn.includes("h2"));
    return carrier;
  }
  const state = tls ?? createClientTlsState();
  // TLS over a TCP socket of our own: its counts are the bytes on the wire (records,
  // handshake, certificates), where the TLS socket's own are the plaintext.
  const socket = tlsConnect({ ...tlsOptions(target, state, alpn), socket: carrier });
  Object.defineProperties(socket, {
    bytesRead: { get: () => tcp.bytesRead },
    bytesWritten: { get: () => tcp.bytesWritten },
  });
  const origin = `${host}:${port}`;
  if (state.settings.sessionResumption) {
    // TLS 1.3 sends tickets after the handshake; the newest one is offered next time.
    socket.on("session", (session: Buffer) => state.sessions.set(origin, session));
  }
  if (phases !== undefined) timeSecure(carrier, socket, startedAt, phases, !alpn.includes("h2"));
  return socket;
}

const HTTP1_ALPN = ["http/1.1"] as const;

/** node:tls options for `target`: SNI from the host name (never for an IP address), the CA, a session. */
export function tlsOptions(
  target: ConnectTarget,
  state: ClientTlsState,
  alpn: readonly string[] = HTTP1_ALPN,
): ConnectionOptions {
  const { host, port, localAddress, localPort } = target;
  const { settings } = state;
  const servername = settings.servername ?? (isIpAddress(host) ? undefined : host);
  // Keys left out rather than undefined: tls.connect asserts on some undefined values.
  const options: ConnectionOptions = {
    host,
    port,
    rejectUnauthorized: !settings.insecure,
    ALPNProtocols: [...alpn],
  };
  if (servername !== undefined) options.servername = servername;
  if (state.secureContext !== undefined) options.secureContext = state.secureContext;
  // An IP address in the URL is checked against the certificate's IP names unless a name is given.
  if (settings.servername !== undefined) {
    options.checkServerIdentity = checkAs(settings.servername);
  }
  const session = settings.sessionResumption ? state.sessions.get(`${host}:${port}`) : undefined;
  if (session !== undefined) options.session = session;
  // tls.connect hands these to its TCP socket (its types leave them out).
  if (localAddress !== undefined) Object.assign(options, { localAddress, localPort });
  return options;
}

function checkAs(servername: string): ConnectionOptions["checkServerIdentity"] {
  return (_host, cert) => checkServerIdentity(servername, cert);
}

function isIpAddress(host: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.includes(":");
}

function timePlain(
  socket: Socket,
  startedAt: number,
  phases: ConnectPhaseRecorder,
  firstByte: boolean,
): void {
  socket.once("connect", () => {
    const connectedAt = performance.now();
    phases.tcp(connectedAt - startedAt);
    if (firstByte) socket.once("data", () => phases.http(performance.now() - connectedAt));
  });
}

function timeSecure(
  tcp: Socket,
  socket: TLSSocket,
  startedAt: number,
  phases: ConnectPhaseRecorder,
  firstByte: boolean,
): void {
  let connectedAt = startedAt;
  tcp.once("connect", () => {
    connectedAt = performance.now();
    phases.tcp(connectedAt - startedAt);
  });
  socket.once("secureConnect", () => {
    const secureAt = performance.now();
    phases.tls(secureAt - connectedAt, socket.isSessionReused());
    if (firstByte) socket.once("data", () => phases.http(performance.now() - secureAt));
  });
}
