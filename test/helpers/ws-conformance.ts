/**
 * Runs the conformance cases against a peer and judges what it did, as the
 * Autobahn testsuite does: a fuzzing client against the reference server
 * (hand-built masked frames on a raw TCP socket after a real upgrade) and a
 * fuzzing server against rtbench's lean WebSocket client (a raw TCP server
 * that answers the upgrade and sends hand-built unmasked frames). Verdicts:
 * OK, NON-STRICT (allowed by RFC 6455 but not its best behaviour, with the
 * reason), INFORMATIONAL (any behaviour is conformant; what the peer did is
 * recorded) and FAILED.
 */
import { createHash } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { setImmediate as nextTurn } from "node:timers/promises";
import { httpTarget } from "../../src/clients/lean-http.js";
import { LeanWebSocket } from "../../src/clients/lean-ws.js";
import { SocketTracker } from "../../src/clients/types.js";
import type { ConformanceCase, Msg, Resolved, Step } from "./ws-conformance-cases.js";
import { closePayload, encodeFrame, encodeHeaderOnly, FrameReader, OP } from "./ws-frames.js";

const ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** How long to wait for a peer's answer, a close or a TCP close: generous, a busy machine is slow. */
const WAIT_MS = 4000;

export type Verdict = "OK" | "NON-STRICT" | "INFORMATIONAL" | "FAILED";

export interface CaseResult {
  id: string;
  section: number;
  title: string;
  verdict: Verdict;
  /** What the peer did, and why a case is not OK. */
  detail: string;
  ms: number;
}

/** What the peer sent back over one case's connection. */
class Link {
  readonly pongs: Buffer[] = [];
  readonly texts: string[] = [];
  closeFrame: { code: number; reason: string; afterStep: number } | null = null;
  stepsSent = 0;
  tcpClosed = false;
  private readonly reader = new FrameReader();

  constructor(
    readonly socket: Socket,
    /** Frames we send are masked (we are the client). */
    private readonly masked: boolean,
  ) {
    socket.on("data", (chunk: Buffer) => this.take(chunk));
    socket.on("error", () => {});
    socket.on("close", () => {
      this.tcpClosed = true;
    });
  }

  take(chunk: Buffer): void {
    for (const frame of this.reader.push(chunk)) {
      if (frame.opcode === OP.PONG) this.pongs.push(frame.payload);
      else if (frame.opcode === OP.TEXT) this.texts.push(frame.payload.toString());
      else if (frame.opcode === OP.CLOSE && this.closeFrame === null) {
        this.closeFrame = {
          code: frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005,
          reason: frame.payload.toString("utf8", 2),
          afterStep: this.stepsSent,
        };
      }
    }
  }

  get ended(): boolean {
    return this.closeFrame !== null || this.tcpClosed;
  }

  async send(step: Step): Promise<void> {
    if ("pauseMs" in step) {
      await sleep(step.pauseMs);
      return;
    }
    const bytes =
      "header" in step
        ? encodeHeaderOnly(step.header.opcode, step.header.length, this.masked)
        : encodeFrame(step.frame, this.masked);
    const chop = "chop" in step ? step.chop : undefined;
    if (chop === undefined) {
      this.socket.write(bytes);
      return;
    }
    // One write per turn of the event loop, so the pieces arrive as separate reads.
    for (let at = 0; at < bytes.length && !this.tcpClosed; at += chop) {
      this.socket.write(bytes.subarray(at, at + chop));
      await nextTurn();
    }
  }
}

interface Session {
  link: Link;
  /** Messages the peer took, as far as the fuzzer can see them. */
  taken(): number;
  /** Client only: what it delivered to its handler, and the code its handler was closed with. */
  delivered?: { binary: boolean; data: Buffer }[];
  localClose?: () => number | null;
  /** After the case: everything released. */
  dispose(): void;
}

/** What the peer does with a message: take it whole (client), or answer it at the application level (server). */
type Answer = "deliver" | "pong" | "refusal";

export interface Peer {
  readonly name: "server" | "client";
  readonly maxMessageBytes: number;
  resolve(msg: Msg): Resolved & { answer: Answer };
  open(): Promise<Session>;
}

/** Free content of a size: letters in a pattern, so a reordered or dropped byte shows. */
function pattern(size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) bytes[i] = 0x61 + (i % 26);
  return bytes;
}

function waitFor(condition: () => boolean, ms = WAIT_MS): Promise<boolean> {
  const deadline = Date.now() + ms;
  return new Promise((resolve) => {
    const check = () => {
      if (condition()) resolve(true);
      else if (Date.now() > deadline) resolve(false);
      else setTimeout(check, 5);
    };
    check();
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reads an HTTP head off a socket; resolves with it and the bytes after it. */
function readHead(socket: Socket): Promise<{ head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      resolve({ head: buffered.toString("latin1", 0, end), rest: buffered.subarray(end + 4) });
    };
    socket.on("data", onData);
    socket.once("close", () => reject(new Error("closed before the HTTP head ended")));
  });
}

const acceptFor = (key: string) =>
  createHash("sha1")
    .update(key + ACCEPT_GUID)
    .digest("base64");

/**
 * The fuzzing client: the reference server at `baseUrl` as the peer, on
 * `/ws/chat/<channel>`. Its application protocol is JSON text frames, so
 * text is sent as `{"type":"ping",...}` (the server answers each with
 * `{"type":"pong"}`, which proves it took the message whole); text that
 * cannot be JSON (shorter than the envelope) and binary frames are refused
 * by the application with 1003, which is judged as the application's answer
 * to a message the protocol layer took.
 */
export function referenceServerPeer(
  baseUrl: string,
  maxMessageBytes: number,
  channel = "conformance",
): Peer {
  const { hostname, port } = new URL(baseUrl);
  const PING = '{"type":"ping"}';
  const PREFIX = Buffer.from('{"type":"ping","t":"');
  const SUFFIX = Buffer.from('"}');
  return {
    name: "server",
    maxMessageBytes,
    resolve(msg) {
      if ("binary" in msg && Buffer.isBuffer(msg.binary))
        return { bytes: msg.binary, binary: true, shift: 0, answer: "refusal" };
      if ("size" in msg) {
        if (msg.binary)
          return { bytes: pattern(msg.size), binary: true, shift: 0, answer: "refusal" };
        if (msg.size < PING.length)
          return {
            bytes: Buffer.alloc(msg.size, 0x78),
            binary: false,
            shift: 0,
            answer: "refusal",
          };
        const bytes = Buffer.alloc(msg.size, 0x20);
        bytes.write(PING, 0, "latin1");
        return { bytes, binary: false, shift: 0, answer: "pong" };
      }
      const text = "text" in msg ? msg.text : Buffer.alloc(0);
      const bytes = Buffer.concat([PREFIX, text, SUFFIX]);
      return { bytes, binary: false, shift: PREFIX.length, answer: "pong" };
    },
    async open() {
      const socket = connect(Number(port), hostname);
      socket.setNoDelay(true);
      socket.on("error", () => {});
      const key = Buffer.from(createHash("sha1").update(String(Math.random())).digest())
        .subarray(0, 16)
        .toString("base64");
      socket.write(
        `GET /ws/chat/${channel} HTTP/1.1\r\nhost: ${hostname}:${port}\r\nupgrade: websocket\r\n` +
          `connection: Upgrade\r\nsec-websocket-key: ${key}\r\nsec-websocket-version: 13\r\n\r\n`,
      );
      const { head, rest } = await readHead(socket);
      if (
        !head.startsWith("HTTP/1.1 101") ||
        !head.toLowerCase().includes(acceptFor(key).toLowerCase())
      )
        throw new Error(`the reference server refused the upgrade: ${head.split("\r\n")[0]}`);
      const link = new Link(socket, true);
      if (rest.length > 0) link.take(rest);
      return {
        link,
        taken: () => link.texts.filter((t) => t === '{"type":"pong"}').length,
        dispose: () => socket.destroy(),
      };
    },
  };
}

/**
 * The fuzzing server: rtbench's lean WebSocket client as the peer. A raw
 * TCP server answers each upgrade, then sends the case's frames unmasked;
 * the client's handler records what it delivered and how it was closed.
 */
export async function leanClientPeer(
  maxMessageBytes: number,
): Promise<Peer & { close(): Promise<void> }> {
  const server: Server = createServer();
  const waiting: ((socket: Socket) => void)[] = [];
  server.on("connection", (socket) => {
    socket.setNoDelay(true);
    socket.on("error", () => {});
    waiting.shift()?.(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const target = httpTarget(`http://127.0.0.1:${port}`);
  const tracker = new SocketTracker();
  return {
    name: "client",
    maxMessageBytes,
    resolve(msg) {
      if ("size" in msg)
        return {
          bytes: pattern(msg.size),
          binary: msg.binary === true,
          shift: 0,
          answer: "deliver",
        };
      if ("binary" in msg) return { bytes: msg.binary, binary: true, shift: 0, answer: "deliver" };
      return { bytes: msg.text, binary: false, shift: 0, answer: "deliver" };
    },
    async open() {
      const accepted = new Promise<Socket>((resolve) => waiting.push(resolve));
      const delivered: { binary: boolean; data: Buffer }[] = [];
      let localClose: number | null = null;
      let opened = false;
      const client = new LeanWebSocket(
        target,
        "/conformance",
        tracker,
        {
          onOpen: () => {
            opened = true;
          },
          // The frame's bytes may be a view into the read buffer: keep a copy.
          onMessage: (data, binary) => delivered.push({ binary, data: Buffer.from(data) }),
          onRefused: () => {},
          onClose: (code) => {
            localClose = code;
          },
        },
        WAIT_MS,
      );
      const socket = await accepted;
      const { head } = await readHead(socket);
      const key = /^sec-websocket-key:\s*(\S+)/im.exec(head)?.[1] ?? "";
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${acceptFor(key)}\r\n\r\n`,
      );
      const link = new Link(socket, false);
      // As a server does: once the client's close frame is in, the server closes the TCP connection.
      socket.on("data", () => {
        if (link.closeFrame) socket.end();
      });
      await waitFor(() => opened || localClose !== null);
      return {
        link,
        taken: () => delivered.length,
        delivered,
        localClose: () => localClose,
        dispose: () => {
          client.terminate();
          socket.destroy();
        },
      };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function runCase(peer: Peer, c: ConformanceCase): Promise<CaseResult> {
  const started = Date.now();
  const resolved = c.messages.map((m) => peer.resolve(m));
  const steps = c.steps(resolved);
  const session = await peer.open();
  const { link } = session;
  try {
    for (const step of steps) {
      if (link.ended) break;
      await link.send(step);
      link.stepsSent++;
    }
    const expected = c.delivered.map((i) => resolved[i] as Resolved & { answer: Answer });
    const answers = expected.findIndex((m) => m.answer === "refusal");
    const wanted = answers < 0 ? expected.length : answers;
    await waitFor(
      () => link.ended || (session.taken() >= wanted && link.pongs.length >= c.pongs.length),
    );
    if (c.end.kind === "open" && !link.ended) {
      await link.send({ frame: { opcode: OP.CLOSE, payload: closePayload(1000) } });
    }
    // The closing handshake: a close frame, then the TCP connection closed (by the server).
    await waitFor(() => link.tcpClosed);
    if (session.localClose) await waitFor(() => session.localClose?.() !== null, 1000);
    const { verdict, detail } = judge(c, expected, session);
    return {
      id: c.id,
      section: c.section,
      title: c.title,
      verdict,
      detail,
      ms: Date.now() - started,
    };
  } finally {
    session.dispose();
  }
}

function judge(
  c: ConformanceCase,
  expected: (Resolved & { answer: Answer })[],
  session: Session,
): { verdict: Verdict; detail: string } {
  const { link } = session;
  const problems: string[] = [];
  const nonStrict: string[] = [];
  const notes: string[] = [];
  const refusedAt = expected.findIndex((m) => m.answer === "refusal");
  if (session.delivered) {
    const got = session.delivered;
    const same =
      got.length === expected.length &&
      got.every(
        (d, i) => d.binary === expected[i]?.binary && d.data.equals(expected[i]?.bytes as Buffer),
      );
    if (!same)
      problems.push(
        `delivered ${got.length} message(s) (${got.map((d) => `${d.binary ? "binary" : "text"} ${d.data.length} B`).join(", ")}), expected ${expected.length} (${expected.map((m) => `${m.binary ? "binary" : "text"} ${m.bytes.length} B`).join(", ")}) intact`,
      );
  } else {
    const wanted = refusedAt < 0 ? expected.length : refusedAt;
    if (session.taken() !== wanted)
      problems.push(
        `answered ${session.taken()} message(s) with {"type":"pong"}, expected ${wanted}`,
      );
  }
  const pongsMatch =
    link.pongs.length === c.pongs.length &&
    link.pongs.every((p, i) => p.equals(c.pongs[i] as Buffer));
  if (!pongsMatch)
    problems.push(
      `answered with ${link.pongs.length} pong(s) [${link.pongs.map((p) => JSON.stringify(p.toString("latin1").slice(0, 20))).join(", ")}], expected ${c.pongs.length}`,
    );

  const code = link.closeFrame?.code;
  const closed =
    code === undefined
      ? "no close frame"
      : `close ${code}${link.closeFrame?.reason ? ` "${link.closeFrame.reason}"` : ""}`;
  const end = c.end;
  if (end.kind === "open" && refusedAt >= 0) {
    if (code === 1003)
      notes.push(
        "the application refused a frame it cannot use (not JSON, or binary) with 1003 after the protocol layer took it whole",
      );
    else problems.push(`${closed}, expected the application's 1003 for a message it cannot use`);
  } else if (end.kind === "open") {
    if (code !== 1000) problems.push(`${closed}, expected our close 1000 answered with 1000`);
  } else if (end.kind === "echo") {
    if (code === undefined || !end.codes.includes(code))
      problems.push(`${closed}, expected a close answer with ${end.codes.join(" or ")}`);
  } else if (code === undefined) {
    if (link.tcpClosed)
      nonStrict.push(
        "failed the connection by closing TCP without a close frame (RFC 6455 7.1.7: SHOULD send one)",
      );
    else problems.push("the connection is still open, expected it failed");
  } else if (!end.codes.includes(code)) {
    problems.push(`${closed}, expected ${end.codes.join(" or ")}`);
  } else if (end.fastBefore !== undefined && (link.closeFrame?.afterStep ?? 0) > end.fastBefore) {
    nonStrict.push(
      "failed the connection at the end of the message, not at the first invalid fragment (Autobahn: fail fast on UTF-8)",
    );
  }
  if (!link.tcpClosed)
    problems.push("the TCP connection was not closed after the closing handshake");
  if (session.localClose) {
    const local = session.localClose();
    if (code !== undefined && local !== code && c.end.kind === "fail")
      problems.push(`its handler was closed with ${local}, but it sent close ${code}`);
  }
  const did = [closed, ...notes].join("; ");
  if (c.informational) return { verdict: "INFORMATIONAL", detail: `${did}. ${c.informational}` };
  if (problems.length > 0)
    return { verdict: "FAILED", detail: `${problems.join("; ")} (${closed})` };
  if (nonStrict.length > 0) return { verdict: "NON-STRICT", detail: nonStrict.join("; ") };
  return { verdict: "OK", detail: did };
}

export interface PeerReport {
  peer: string;
  cases: CaseResult[];
}

/** Per section and verdict, for the report. */
export function summarise(report: PeerReport): Record<string, Record<Verdict, number>> {
  const sections: Record<string, Record<Verdict, number>> = {};
  for (const r of report.cases) {
    sections[r.section] ??= { OK: 0, "NON-STRICT": 0, INFORMATIONAL: 0, FAILED: 0 };
    (sections[r.section] as Record<Verdict, number>)[r.verdict]++;
  }
  return sections;
}

const SECTION_NAMES: Record<string, string> = {
  1: "framing",
  2: "pings and pongs",
  3: "reserved bits",
  4: "reserved opcodes",
  5: "fragmentation",
  6: "UTF-8",
  7: "close handling",
  9: "limits",
  10: "auto-fragmentation",
};

/** The short Markdown summary: cases per section and verdict, then every case that is not OK, with its reason. */
export function markdownSummary(reports: PeerReport[], heading: string): string {
  const lines = [
    heading,
    "",
    `| section | ${reports.map((r) => r.peer).join(" | ")} |`,
    `|---|${reports.map(() => "---|").join("")}`,
  ];
  const summaries = reports.map(summarise);
  const sections = [...new Set(reports.flatMap((r) => r.cases.map((c) => String(c.section))))];
  const cell = (s: Record<Verdict, number> | undefined) => {
    if (!s) return "-";
    const total = s.OK + s["NON-STRICT"] + s.INFORMATIONAL + s.FAILED;
    const extra = (["NON-STRICT", "INFORMATIONAL", "FAILED"] as const)
      .filter((v) => s[v] > 0)
      .map((v) => `${s[v]} ${v.toLowerCase()}`);
    return `${s.OK}/${total} OK${extra.length > 0 ? ` (${extra.join(", ")})` : ""}`;
  };
  for (const section of sections)
    lines.push(
      `| ${section} ${SECTION_NAMES[section] ?? ""} | ${summaries.map((s) => cell(s[section])).join(" | ")} |`,
    );
  const others = reports.flatMap((r) =>
    r.cases.filter((c) => c.verdict !== "OK").map((c) => ({ peer: r.peer, c })),
  );
  if (others.length > 0) {
    lines.push("", "Cases that are not OK:", "");
    for (const { peer, c } of others)
      lines.push(`- ${peer} ${c.id} ${c.verdict}: ${c.title}. ${c.detail}`);
  }
  return `${lines.join("\n")}\n`;
}
