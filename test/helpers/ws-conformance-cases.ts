/**
 * WebSocket conformance cases after the Autobahn testsuite's sections and
 * numbering (1 framing, 2 pings and pongs, 3 reserved bits, 4 reserved
 * opcodes, 5 fragmentation, 6 UTF-8, 7 close handling, 9 limits, 10
 * auto-fragmentation), each with what RFC 6455 requires of the peer. The
 * Autobahn suite itself (Python 2, from PyPI) cannot be installed here; this
 * is its closest stand-in, and its case ids say which Autobahn case each one
 * follows. A case says which messages it sends and how (frames, chopped
 * writes, pauses); each peer's adapter turns a message into bytes that peer
 * can take (the reference server speaks JSON; see `Resolved.shift`).
 */
import { closePayload, type FrameSpec, OP } from "./ws-frames.js";

/** A message a case sends: free content of a size, or exact bytes. */
export type Msg = { size: number; binary?: boolean } | { text: Buffer } | { binary: Buffer };

/**
 * A message as one peer's adapter made it: the bytes on the wire, whether
 * it is binary, and where the case's own bytes start inside them (the
 * reference server gets text wrapped in a JSON envelope, so cuts move).
 */
export interface Resolved {
  bytes: Buffer;
  binary: boolean;
  shift: number;
}

export type Step =
  /** One frame; `chop` writes it in pieces of that many bytes, one write per event-loop turn. */
  | { frame: FrameSpec; chop?: number }
  /** Only a frame header announcing `length` payload bytes, which are never sent. */
  | { header: { opcode: number; length: number } }
  | { pauseMs: number };

export type End =
  /** The connection stays up; our closing handshake (1000) is answered with 1000. */
  | { kind: "open" }
  /** The case's own close frame is answered with one of `codes` (1005: an empty close). */
  | { kind: "echo"; codes: number[] }
  /**
   * The peer fails the connection with one of `codes`. With `fastBefore`,
   * failing before step `fastBefore` is sent is OK and failing later is
   * NON-STRICT (Autobahn's "fail fast" on UTF-8 split across fragments).
   */
  | { kind: "fail"; codes: number[]; fastBefore?: number };

export interface ConformanceCase {
  id: string;
  section: number;
  title: string;
  messages: Msg[];
  steps(m: Resolved[]): Step[];
  /** Indices into `messages` the peer must take intact, in order. */
  delivered: number[];
  /** Pong payloads the peer must answer with, in order, and no others. */
  pongs: Buffer[];
  end: End;
  /** Any conformant behaviour is accepted; the reason is reported with what the peer did. */
  informational?: string;
}

export interface SuiteOptions {
  /** The peer's largest message, in bytes (the reference server's maxBodyBytes, the client's cap). */
  maxMessageBytes: number;
  /** Largest size section 9 sends within the cap (fast: small enough for npm test). */
  largest: number;
}

const PROTOCOL_ERROR = [1002];
const INVALID_PAYLOAD = [1007];
const TOO_BIG = [1009];
const OPEN: End = { kind: "open" };
const FAIL_1002: End = { kind: "fail", codes: PROTOCOL_ERROR };

const text = (s: string | number[]): Msg => ({
  text: typeof s === "string" ? Buffer.from(s) : Buffer.from(s),
});

/** The whole message in one frame. */
function whole(m: Resolved, extra: { rsv?: number; chop?: number } = {}): Step {
  return {
    frame: { opcode: m.binary ? OP.BINARY : OP.TEXT, payload: m.bytes, rsv: extra.rsv },
    chop: extra.chop,
  };
}

/** The message cut at `cuts` (offsets into the case's own bytes): first frame, continuations, FIN on the last. */
function fragments(m: Resolved, cuts: number[], chop?: number): Step[] {
  const edges = [0, ...cuts.map((c) => c + m.shift), m.bytes.length];
  const steps: Step[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    steps.push({
      frame: {
        opcode: i === 0 ? (m.binary ? OP.BINARY : OP.TEXT) : OP.CONTINUATION,
        payload: m.bytes.subarray(edges[i], edges[i + 1]),
        fin: i + 2 === edges.length,
      },
      chop,
    });
  }
  return steps;
}

function control(opcode: number, payload: Buffer | string = "", extra: Partial<FrameSpec> = {}) {
  return {
    opcode,
    payload: typeof payload === "string" ? Buffer.from(payload) : payload,
    ...extra,
  };
}

const frame = (spec: FrameSpec, chop?: number): Step => ({ frame: spec, chop });
const close = (code: number, reason: Buffer | string = ""): Step =>
  frame(control(OP.CLOSE, closePayload(code, reason)));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

function section1(): ConformanceCase[] {
  const sizes = [0, 125, 126, 127, 128, 65535, 65536];
  const cases: ConformanceCase[] = [];
  for (const [sub, binary] of [
    [1, false],
    [2, true],
  ] as const) {
    const kind = binary ? "binary" : "text";
    sizes.forEach((size, i) => {
      cases.push({
        id: `1.${sub}.${i + 1}`,
        section: 1,
        title: `${kind} message of ${size} bytes`,
        messages: [{ size, binary }],
        steps: ([m]) => [whole(m as Resolved)],
        delivered: [0],
        pongs: [],
        end: OPEN,
      });
    });
    cases.push({
      id: `1.${sub}.8`,
      section: 1,
      title: `${kind} message of 65536 bytes written in chops of 997 bytes`,
      messages: [{ size: 65536, binary }],
      steps: ([m]) => [whole(m as Resolved, { chop: 997 })],
      delivered: [0],
      pongs: [],
      end: OPEN,
    });
  }
  return cases;
}

function section2(): ConformanceCase[] {
  const binary = Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]);
  const p125 = Buffer.alloc(125, 0xfe);
  const ten = range(0, 10).map((i) => Buffer.from(`payload-${i}`));
  const c = (
    n: number,
    title: string,
    steps: Step[],
    pongs: Buffer[],
    end: End = OPEN,
  ): ConformanceCase => ({
    id: `2.${n}`,
    section: 2,
    title,
    messages: [],
    steps: () => steps,
    delivered: [],
    pongs,
    end,
  });
  return [
    c(1, "ping without payload", [frame(control(OP.PING))], [Buffer.alloc(0)]),
    c(
      2,
      "ping with a text payload",
      [frame(control(OP.PING, "Hello, world!"))],
      [Buffer.from("Hello, world!")],
    ),
    c(3, "ping with a binary payload", [frame(control(OP.PING, binary))], [binary]),
    c(4, "ping with a 125-byte payload", [frame(control(OP.PING, p125))], [p125]),
    c(
      5,
      "ping with a 126-byte payload (control frames carry at most 125)",
      [frame(control(OP.PING, Buffer.alloc(126, 0xfe)))],
      [],
      FAIL_1002,
    ),
    c(
      6,
      "ping with a 125-byte payload written one byte at a time",
      [frame(control(OP.PING, p125), 1)],
      [p125],
    ),
    c(7, "unsolicited pong without payload (ignored)", [frame(control(OP.PONG))], []),
    c(
      8,
      "unsolicited pong with payload (ignored)",
      [frame(control(OP.PONG, "unsolicited pong payload"))],
      [],
    ),
    c(
      9,
      "unsolicited pong, then a ping",
      [
        frame(control(OP.PONG, "unsolicited pong payload")),
        frame(control(OP.PING, "ping payload")),
      ],
      [Buffer.from("ping payload")],
    ),
    c(
      10,
      "10 pings",
      ten.map((p) => frame(control(OP.PING, p))),
      ten,
    ),
    c(
      11,
      "10 pings written one byte at a time",
      ten.map((p) => frame(control(OP.PING, p), 1)),
      ten,
    ),
  ];
}

function section3(): ConformanceCase[] {
  const hello = text("Hello, world!");
  const c = (n: number, title: string, steps: (m: Resolved[]) => Step[], delivered: number[]) => ({
    id: `3.${n}`,
    section: 3,
    title,
    messages: [hello, hello],
    steps,
    delivered,
    pongs: [],
    end: FAIL_1002,
  });
  return [
    c(1, "text with RSV1 set", ([, m]) => [whole(m as Resolved, { rsv: 4 })], []),
    c(
      2,
      "text, text with RSV2 set, ping",
      ([a, b]) => [whole(a as Resolved), whole(b as Resolved, { rsv: 2 }), frame(control(OP.PING))],
      [0],
    ),
    c(
      3,
      "text, text with RSV1+RSV2 set, ping, one byte at a time",
      ([a, b]) => [
        whole(a as Resolved, { chop: 1 }),
        whole(b as Resolved, { rsv: 6, chop: 1 }),
        frame(control(OP.PING), 1),
      ],
      [0],
    ),
    c(
      4,
      "text, text with RSV3 set, ping",
      ([a, b]) => [whole(a as Resolved), whole(b as Resolved, { rsv: 1 }), frame(control(OP.PING))],
      [0],
    ),
    c(
      5,
      "binary with RSV1+RSV3 set",
      () => [frame({ opcode: OP.BINARY, payload: Buffer.from([1, 2, 3]), rsv: 5 })],
      [],
    ),
    c(6, "ping with RSV2+RSV3 set", () => [frame(control(OP.PING, "ping", { rsv: 3 }))], []),
    c(
      7,
      "close with all RSV bits set",
      () => [frame(control(OP.CLOSE, closePayload(1000), { rsv: 7 }))],
      [],
    ),
  ];
}

function section4(): ConformanceCase[] {
  const hello = text("Hello, world!");
  const cases: ConformanceCase[] = [];
  for (const [sub, opcodes] of [
    [1, [3, 4, 5, 6, 7]],
    [2, [11, 12, 13, 14, 15]],
  ] as const) {
    const kind = sub === 1 ? "data" : "control";
    opcodes.forEach((opcode, i) => {
      const withPayload = i === 1 || i === 3;
      const afterText = i >= 2;
      const spec = control(opcode, withPayload ? "reserved opcode payload" : "");
      cases.push({
        id: `4.${sub}.${i + 1}`,
        section: 4,
        title: `reserved ${kind} opcode ${opcode}${withPayload ? " with payload" : ""}${afterText ? " after a text message, then a ping" : ""}${i === 4 ? ", one byte at a time" : ""}`,
        messages: afterText ? [hello] : [],
        steps: ([m]) =>
          afterText
            ? [
                whole(m as Resolved, { chop: i === 4 ? 1 : undefined }),
                frame(spec, i === 4 ? 1 : undefined),
                frame(control(OP.PING), i === 4 ? 1 : undefined),
              ]
            : [frame(spec)],
        delivered: afterText ? [0] : [],
        pongs: [],
        end: FAIL_1002,
      });
    });
  }
  return cases;
}

function section5(): ConformanceCase[] {
  const two = text("fragment1fragment2");
  const five = text("fragment1fragment2fragment3fragment4fragment5");
  const raw = (opcode: number, payload: string, fin: boolean) =>
    frame({ opcode, payload: Buffer.from(payload), fin });
  const c = (
    n: number,
    title: string,
    messages: Msg[],
    steps: (m: Resolved[]) => Step[],
    delivered: number[],
    pongs: Buffer[],
    end: End,
  ): ConformanceCase => ({
    id: `5.${n}`,
    section: 5,
    title,
    messages,
    steps,
    delivered,
    pongs,
    end,
  });
  /** Raw frames only, which the peer must fail with 1002. */
  const failing = (n: number, title: string, steps: Step[]) =>
    c(n, title, [], () => steps, [], [], FAIL_1002);
  const cases = [
    failing(1, "ping in two fragments", [
      raw(OP.PING, "fragment1", false),
      raw(OP.CONTINUATION, "fragment2", true),
    ]),
    failing(2, "pong in two fragments", [
      raw(OP.PONG, "fragment1", false),
      raw(OP.CONTINUATION, "fragment2", true),
    ]),
  ];
  [undefined, 997, 1].forEach((chop, i) => {
    const how = chop === undefined ? "" : chop === 1 ? ", one byte at a time" : ", chopped";
    cases.push(
      c(
        3 + i,
        `text in two fragments${how}`,
        [two],
        ([m]) => fragments(m as Resolved, [9], chop),
        [0],
        [],
        OPEN,
      ),
    );
    cases.push(
      c(
        6 + i,
        `text in two fragments with a ping between them${how}`,
        [two],
        ([m]) => {
          const [first, last] = fragments(m as Resolved, [9], chop) as [Step, Step];
          return [first, frame(control(OP.PING, "ping payload"), chop), last];
        },
        [0],
        [Buffer.from("ping payload")],
        OPEN,
      ),
    );
    cases.push(
      c(
        9 + i,
        `continuation (FIN) without a message, then text${how}`,
        [text("Hello, world!")],
        ([m]) => [
          frame(
            { opcode: OP.CONTINUATION, payload: Buffer.from("non-continuation payload") },
            chop,
          ),
          whole(m as Resolved, { chop }),
        ],
        [],
        [],
        FAIL_1002,
      ),
    );
    cases.push(
      c(
        12 + i,
        `continuation (no FIN) without a message, then text${how}`,
        [text("Hello, world!")],
        ([m]) => [
          frame(
            {
              opcode: OP.CONTINUATION,
              payload: Buffer.from("non-continuation payload"),
              fin: false,
            },
            chop,
          ),
          whole(m as Resolved, { chop }),
        ],
        [],
        [],
        FAIL_1002,
      ),
    );
  });
  cases.push(
    c(
      15,
      "a whole fragmented message, then a continuation without a message",
      [two],
      ([m]) => [
        ...fragments(m as Resolved, [9]),
        raw(OP.CONTINUATION, "fragment3", false),
        raw(OP.TEXT, "fragment4", true),
      ],
      [0],
      [],
      FAIL_1002,
    ),
    failing(16, "continuation (no FIN), text (no FIN), continuation (FIN)", [
      raw(OP.CONTINUATION, "fragment1", false),
      raw(OP.TEXT, "fragment2", false),
      raw(OP.CONTINUATION, "fragment3", true),
    ]),
    failing(17, "continuation (FIN), text (no FIN), continuation (FIN)", [
      raw(OP.CONTINUATION, "fragment1", true),
      raw(OP.TEXT, "fragment2", false),
      raw(OP.CONTINUATION, "fragment3", true),
    ]),
    failing(18, "text (no FIN), then a new text message before the first ends", [
      raw(OP.TEXT, "fragment1", false),
      raw(OP.TEXT, "fragment2", true),
    ]),
  );
  [undefined, 1].forEach((chop, i) => {
    cases.push(
      c(
        19 + i,
        `text in five fragments with two pings and pauses between them${chop ? ", one byte at a time" : ""}`,
        [five],
        ([m]) => {
          const [f1, f2, f3, f4, f5] = fragments(m as Resolved, [9, 18, 27, 36], chop) as Step[];
          return [
            f1 as Step,
            f2 as Step,
            frame(control(OP.PING, "pongme 1!"), chop),
            { pauseMs: 50 },
            f3 as Step,
            { pauseMs: 50 },
            f4 as Step,
            frame(control(OP.PING, "pongme 2!"), chop),
            f5 as Step,
          ];
        },
        [0],
        [Buffer.from("pongme 1!"), Buffer.from("pongme 2!")],
        OPEN,
      ),
    );
  });
  return cases;
}

/** Valid UTF-8 samples: ASCII and Latin, Greek, a 4-byte character, and every length's edges. */
const VALID_UTF8 = [
  "Hello-µ@ßöäüàá-UTF-8!!",
  "κόσμε",
  "\u{1d11e} (musical G clef, 4 bytes)",
  "\u007f \u0080 \u07ff \u0800 \ufffd \uffff \u{10000} \u{10ffff}",
];
/** Invalid UTF-8: surrogates, overlongs, beyond U+10FFFF, bytes that never occur, truncations. */
const INVALID_UTF8: [string, number[]][] = [
  [
    "κόσμε, a UTF-16 surrogate (U+D800), 'edited'",
    [
      0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65,
      0x64, 0x69, 0x74, 0x65, 0x64,
    ],
  ],
  ["overlong '/' (C0 AF)", [0x61, 0xc0, 0xaf, 0x62]],
  ["overlong NUL (C0 80)", [0xc0, 0x80]],
  ["overlong 3-byte (E0 80 AF)", [0xe0, 0x80, 0xaf]],
  ["surrogate U+DFFF (ED BF BF)", [0xed, 0xbf, 0xbf]],
  ["beyond U+10FFFF (F4 90 80 80)", [0xf4, 0x90, 0x80, 0x80]],
  ["5-byte sequence (F8 88 80 80 80)", [0xf8, 0x88, 0x80, 0x80, 0x80]],
  ["byte FE", [0x61, 0xfe]],
  ["byte FF", [0xff]],
  ["lone continuation byte (80)", [0x61, 0x80, 0x62]],
  ["2-byte sequence cut short at the end (CE)", [0x61, 0xce]],
  ["3-byte sequence cut short at the end (E1 BD)", [0xe1, 0xbd]],
];

/** A function that adds a case of `section` without pongs to `cases`, by id. */
function adder(section: number, cases: ConformanceCase[]) {
  return (
    id: string,
    title: string,
    messages: Msg[],
    steps: (m: Resolved[]) => Step[],
    delivered: number[],
    end: End,
    informational?: string,
  ): void => {
    cases.push({ id, section, title, messages, steps, delivered, pongs: [], end, informational });
  };
}

function section6(): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  const c = adder(6, cases);
  c("6.1.1", "empty text message", [{ size: 0 }], ([m]) => [whole(m as Resolved)], [0], OPEN);
  c(
    "6.1.2",
    "empty text message in three empty fragments",
    [{ size: 0 }],
    ([m]) => fragments(m as Resolved, [0, 0]),
    [0],
    OPEN,
  );
  c(
    "6.1.3",
    "text: empty fragment, payload, empty fragment",
    [text("middle frame payload")],
    ([m]) => fragments(m as Resolved, [0, 20]),
    [0],
    OPEN,
  );
  VALID_UTF8.forEach((sample, i) => {
    const bytes = Buffer.from(sample);
    c(
      `6.2.${i * 3 + 1}`,
      `valid UTF-8 in one frame: ${sample}`,
      [text(sample)],
      ([m]) => [whole(m as Resolved)],
      [0],
      OPEN,
    );
    // Cut inside a multi-byte character: a frame boundary is not a character boundary.
    c(
      `6.2.${i * 3 + 2}`,
      `valid UTF-8 cut in two fragments mid-character: ${sample}`,
      [text(sample)],
      ([m]) => fragments(m as Resolved, [midCharacter(bytes)]),
      [0],
      OPEN,
    );
    c(
      `6.2.${i * 3 + 3}`,
      `valid UTF-8, one fragment per byte: ${sample}`,
      [text(sample)],
      ([m]) => fragments(m as Resolved, range(1, bytes.length)),
      [0],
      OPEN,
    );
  });
  INVALID_UTF8.forEach(([what, bytes], i) => {
    c(
      `6.3.${i * 2 + 1}`,
      `invalid UTF-8 in one frame: ${what}`,
      [text(bytes)],
      ([m]) => [whole(m as Resolved)],
      [],
      {
        kind: "fail",
        codes: INVALID_PAYLOAD,
      },
    );
    c(
      `6.3.${i * 2 + 2}`,
      `invalid UTF-8, one fragment per byte: ${what}`,
      [text(bytes)],
      ([m]) => fragments(m as Resolved, range(1, bytes.length)),
      [],
      { kind: "fail", codes: INVALID_PAYLOAD },
    );
  });
  // Autobahn 6.4: the invalid bytes come in a fragment before a pause; a peer
  // that fails before the last fragment fails fast (OK), one that waits for
  // the whole message is NON-STRICT.
  const kosme = [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5];
  const failFast = (id: string, title: string, cuts: [number, number], bytes: number[]) =>
    c(
      id,
      title,
      [text(bytes)],
      ([m]) => {
        const [f1, f2, f3] = fragments(m as Resolved, cuts);
        return [f1 as Step, f2 as Step, { pauseMs: 300 }, f3 as Step];
      },
      [],
      { kind: "fail", codes: INVALID_PAYLOAD, fastBefore: 3 },
    );
  const edited = [0x65, 0x64, 0x69, 0x74, 0x65, 0x64];
  failFast(
    "6.4.1",
    "valid fragment, fragment with F4 90 80 80 (beyond U+10FFFF), pause, rest",
    [11, 15],
    [...kosme, 0xf4, 0x90, 0x80, 0x80, ...edited],
  );
  failFast(
    "6.4.2",
    "fragment ending in F4, fragment 90 (invalid already), pause, rest",
    [12, 13],
    [...kosme, 0xf4, 0x90, 0x80, 0x80, ...edited],
  );
  failFast(
    "6.4.3",
    "valid fragment, fragment with a surrogate (ED A0 80), pause, rest",
    [11, 14],
    [...kosme, 0xed, 0xa0, 0x80, ...edited],
  );
  return cases;
}

/** An offset inside the first multi-byte character, or the middle for ASCII. */
function midCharacter(bytes: Buffer): number {
  const at = bytes.findIndex((b) => b >= 0xc0);
  return at < 0 ? bytes.length >> 1 : at + 1;
}

function section7(): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  const hello = text("Hello, world!");
  const echo1000: End = { kind: "echo", codes: [1000] };
  const c = adder(7, cases);
  c(
    "7.1.1",
    "text message, then close 1000",
    [hello],
    ([m]) => [whole(m as Resolved), close(1000)],
    [0],
    echo1000,
  );
  c(
    "7.1.2",
    "close 1000 twice (the second is ignored)",
    [],
    () => [close(1000), close(1000)],
    [],
    echo1000,
  );
  c(
    "7.1.3",
    "close 1000, then a ping (no pong after a close)",
    [],
    () => [close(1000), frame(control(OP.PING, "ping"))],
    [],
    echo1000,
  );
  c(
    "7.1.4",
    "close 1000, then a text message (not delivered)",
    [hello],
    ([m]) => [close(1000), whole(m as Resolved)],
    [],
    echo1000,
  );
  c(
    "7.1.5",
    "first fragment, close 1000, last fragment (the message never completes)",
    [text("fragment1fragment2")],
    ([m]) => {
      const [f1, f2] = fragments(m as Resolved, [9]);
      return [f1 as Step, close(1000), f2 as Step];
    },
    [],
    echo1000,
  );
  c("7.3.1", "close without payload", [], () => [frame(control(OP.CLOSE))], [], {
    kind: "echo",
    codes: [1000, 1005],
  });
  c(
    "7.3.2",
    "close with a 1-byte payload (a code needs 2)",
    [],
    () => [frame(control(OP.CLOSE, Buffer.from([0x2a])))],
    [],
    FAIL_1002,
  );
  c("7.3.3", "close 1000 without a reason", [], () => [close(1000)], [], echo1000);
  c("7.3.4", "close 1000 with a reason", [], () => [close(1000, "Hello World!")], [], echo1000);
  c(
    "7.3.5",
    "close 1000 with a 123-byte reason (payload 125 bytes)",
    [],
    () => [close(1000, "*".repeat(123))],
    [],
    echo1000,
  );
  c(
    "7.3.6",
    "close 1000 with a 124-byte reason (payload 126 bytes: too long for a control frame)",
    [],
    () => [close(1000, "*".repeat(124))],
    [],
    FAIL_1002,
  );
  c(
    "7.5.1",
    "close 1000 with a reason that is not UTF-8",
    [],
    () => [
      close(
        1000,
        Buffer.from([
          0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65,
          0x64, 0x69, 0x74, 0x65, 0x64,
        ]),
      ),
    ],
    [],
    { kind: "fail", codes: [1002, 1007] },
  );
  const valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
  for (const [i, code] of valid.entries()) {
    c(`7.7.${i + 1}`, `close with valid code ${code}`, [], () => [close(code)], [], {
      kind: "echo",
      codes: [1000, code],
    });
  }
  const invalid = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];
  for (const [i, code] of invalid.entries()) {
    c(`7.9.${i + 1}`, `close with invalid code ${code}`, [], () => [close(code)], [], FAIL_1002);
  }
  // Autobahn 7.9.7-7.9.9 count these as invalid: they were registered with
  // IANA after RFC 6455 (and after the testsuite's cases were written).
  const names: Record<number, string> = {
    1012: "Service Restart",
    1013: "Try Again Later",
    1014: "Bad Gateway",
  };
  for (const [i, code] of [1012, 1013, 1014].entries()) {
    c(
      `7.13.${i + 1}`,
      `close with code ${code}`,
      [],
      () => [close(code)],
      [],
      { kind: "echo", codes: [1000, code] },
      `${code} (${names[code]}) was registered in the IANA WebSocket close code registry after RFC 6455; Autobahn's 7.9.x cases predate that and call it invalid. ws accepts it, and so must rtbench's client: the reference server's admission limit closes with 1013.`,
    );
  }
  return cases;
}

function section9(options: SuiteOptions): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  const sizes = [64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024, 16 * 1024 * 1024].filter(
    (s) => s <= Math.min(options.largest, options.maxMessageBytes),
  );
  for (const [sub, binary] of [
    [1, false],
    [2, true],
  ] as const) {
    sizes.forEach((size, i) => {
      cases.push({
        id: `9.${sub}.${i + 1}`,
        section: 9,
        title: `${binary ? "binary" : "text"} message of ${size} bytes`,
        messages: [{ size, binary }],
        steps: ([m]) => [whole(m as Resolved)],
        delivered: [0],
        pongs: [],
        end: OPEN,
      });
    });
  }
  const fragmented = sizes[sizes.length - 1] as number;
  [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576]
    .filter((f) => f < fragmented && fragmented / f <= 65536)
    .forEach((fragment, i) => {
      cases.push({
        id: `9.3.${i + 1}`,
        section: 9,
        title: `text message of ${fragmented} bytes in fragments of ${fragment}`,
        messages: [{ size: fragmented }],
        steps: ([m]) =>
          fragments(
            m as Resolved,
            range(1, fragmented / fragment).map((k) => k * fragment),
          ),
        delivered: [0],
        pongs: [],
        end: OPEN,
      });
    });
  const cap = options.maxMessageBytes;
  cases.push({
    id: "9.9.1",
    section: 9,
    title: `a frame header announcing ${cap + 1} bytes, one more than the peer's cap`,
    messages: [],
    steps: () => [{ header: { opcode: OP.TEXT, length: cap + 1 } }],
    delivered: [],
    pongs: [],
    end: { kind: "fail", codes: TOO_BIG },
  });
  if (cap <= options.largest) {
    cases.push({
      id: "9.9.2",
      section: 9,
      title: `fragments that add up to ${cap + 1} bytes, one more than the peer's cap`,
      messages: [{ size: cap + 1 }],
      steps: ([m]) =>
        fragments(
          m as Resolved,
          range(1, 16).map((k) => Math.floor(((cap + 1) * k) / 16)),
        ),
      delivered: [],
      pongs: [],
      end: { kind: "fail", codes: TOO_BIG },
    });
  }
  return cases;
}

function section10(): ConformanceCase[] {
  return [
    {
      id: "10.1.1",
      section: 10,
      title:
        "text message of 65536 bytes in fragments of 1300 (as an auto-fragmenting sender does)",
      messages: [{ size: 65536 }],
      steps: ([m]) =>
        fragments(
          m as Resolved,
          range(1, 51).map((k) => k * 1300),
        ),
      delivered: [0],
      pongs: [],
      end: OPEN,
    },
  ];
}

/** Every case, in Autobahn's order; section 9's sizes follow the peer's cap. */
export function conformanceCases(options: SuiteOptions): ConformanceCase[] {
  return [
    ...section1(),
    ...section2(),
    ...section3(),
    ...section4(),
    ...section5(),
    ...section6(),
    ...section7(),
    ...section9(options),
    ...section10(),
  ];
}
