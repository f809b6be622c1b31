/**
 * Sends fuzz inputs to a running reference server over real sockets and
 * judges each answer: any 5xx, an error that is not `{"error": "..."}`, or a
 * connection left hanging is a finding. Also the healthy subscribers that
 * watch one channel throughout and must see every id exactly once, in order.
 */
import { type Agent, request as httpRequest } from "node:http";
import { connect } from "node:net";
import WebSocket from "ws";
import { HEALTHY_CHANNEL, type HttpInput, type PublishInput, type WsInput } from "./fuzz-inputs.js";

/** How long one input may take before its connection counts as hanging. */
const INPUT_LIMIT_MS = 3000;

export interface Outcome {
  /** e.g. "http 400", "ws close 1009", "ws ack", "closed" */
  label: string;
  /** Set when the server misbehaved. */
  finding?: string;
  /** Id of a message stored on the healthy channel by this input. */
  storedIds?: number[];
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sequential HTTP/1.1 responses in `text`, as far as they can be delimited. */
function parseResponses(text: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = text;
  while (rest.startsWith("HTTP/1.1 ")) {
    const headEnd = rest.indexOf("\r\n\r\n");
    if (headEnd === -1) break;
    const [statusLine = "", ...lines] = rest.slice(0, headEnd).split("\r\n");
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers["content-length"] ?? Number.NaN);
    const bodyStart = headEnd + 4;
    const body = Number.isFinite(length)
      ? rest.slice(bodyStart, bodyStart + length)
      : rest.slice(bodyStart);
    responses.push({ status: Number(statusLine.split(" ")[1]), headers, body });
    if (!Number.isFinite(length)) break;
    rest = rest.slice(bodyStart + length);
  }
  return responses;
}

/** What is wrong with an error answer, or undefined when it has the JSON error shape. */
function errorShapeProblem(response: RawResponse, head: boolean): string | undefined {
  if (response.status >= 500) return `answered ${response.status}: ${response.body.slice(0, 200)}`;
  if (response.status < 400) return undefined;
  if (!/^application\/json/.test(response.headers["content-type"] ?? "")) {
    return `${response.status} without a JSON content-type`;
  }
  if (head) return undefined;
  try {
    const json = JSON.parse(response.body) as { error?: unknown };
    if (typeof json.error === "string") return undefined;
  } catch {
    // reported below
  }
  return `${response.status} with a body that is not {"error": ...}: ${response.body.slice(0, 200)}`;
}

export function sendHttp(url: string, input: HttpInput): Promise<Outcome> {
  const { hostname, port } = new URL(url);
  const head = input.bytes.subarray(0, 5).toString("latin1") === "HEAD ";
  return new Promise((resolve) => {
    let text = "";
    let settled = false;
    const socket = connect(Number(port), hostname, () => {
      socket.write(input.bytes);
      socket.end();
    });
    const finish = (hung: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const responses = parseResponses(text);
      const first = responses[0];
      const streaming =
        first?.status === 200 && /event-stream/.test(first.headers["content-type"] ?? "");
      if (hung && !streaming && responses.length === 0) {
        resolve({ label: "hung", finding: `no answer within ${INPUT_LIMIT_MS} ms` });
        return;
      }
      for (const response of responses) {
        const problem = errorShapeProblem(response, head);
        if (problem) {
          resolve({ label: `http ${response.status}`, finding: problem });
          return;
        }
      }
      if (text.length > 0 && responses.length === 0) {
        resolve({ label: "not http", finding: `answer is not HTTP: ${text.slice(0, 100)}` });
        return;
      }
      resolve({ label: first ? `http ${first.status}` : "closed" });
    };
    const timer = setTimeout(() => finish(true), INPUT_LIMIT_MS);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      text += chunk;
      // An SSE stream that opened is a valid answer; there is no end to wait for.
      if (/^HTTP\/1\.1 200[\s\S]*event-stream[\s\S]*\r\n\r\n/.test(text)) finish(false);
    });
    socket.on("close", () => finish(false));
    socket.on("error", () => {});
  });
}

export function sendPublish(url: string, input: PublishInput, agent: Agent): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = httpRequest(
      `${url}/api/messages`,
      { method: "POST", agent, headers: { "content-length": input.body.length } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => {
          const response = {
            status: res.statusCode ?? 0,
            headers: { "content-type": res.headers["content-type"] ?? "" },
            body,
          };
          const problem = errorShapeProblem(response, false);
          if (problem) {
            resolve({ label: `http ${response.status}`, finding: problem });
            return;
          }
          if (response.status !== 201) {
            resolve({ label: `http ${response.status}` });
            return;
          }
          const message = JSON.parse(body) as { id: number; channel: string };
          resolve({
            label: "http 201",
            storedIds: message.channel === HEALTHY_CHANNEL ? [message.id] : [],
          });
        });
      },
    );
    req.setTimeout(INPUT_LIMIT_MS, () => {
      req.destroy();
      resolve({ label: "hung", finding: `no answer within ${INPUT_LIMIT_MS} ms` });
    });
    // A 413 may close the connection before the whole body is sent.
    req.on("error", () => resolve({ label: "reset" }));
    req.end(input.body);
  });
}

/** Close codes a server may use on bad input (1006: the socket was cut, as for bytes that are not frames). */
const ACCEPTABLE_CLOSE_CODES = new Set([1000, 1002, 1003, 1006, 1007, 1008, 1009]);

export function sendWebSocket(url: string, input: WsInput): Promise<Outcome> {
  if (input.raw) return sendRawFrames(url, input);
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}${input.path}`);
    const storedIds: number[] = [];
    let settled = false;
    let quiet: NodeJS.Timeout | undefined;
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(quiet);
      ws.terminate();
      resolve(outcome);
    };
    const timer = setTimeout(
      () =>
        finish({ label: "hung", finding: `session did not settle within ${INPUT_LIMIT_MS} ms` }),
      INPUT_LIMIT_MS,
    );
    const settleSoon = () => {
      clearTimeout(quiet);
      quiet = setTimeout(
        () => finish({ label: storedIds.length ? "ws ack" : "ws open", storedIds }),
        150,
      );
    };
    ws.on("open", () => {
      for (const frame of input.frames) {
        if ("text" in frame) ws.send(frame.text);
        else ws.send(frame.binary, { binary: true });
      }
      settleSoon();
    });
    ws.on("message", (data) => {
      let frame: { type?: string; id?: number; channel?: string };
      try {
        frame = JSON.parse(String(data)) as typeof frame;
      } catch {
        finish({
          label: "ws bad frame",
          finding: `server sent a frame that is not JSON: ${String(data).slice(0, 100)}`,
        });
        return;
      }
      if (frame.type === "ack" && typeof frame.id === "number") storedIds.push(frame.id);
      // Live messages from other inputs on the same channel are not replies to this session.
      if (frame.type !== "message") settleSoon();
    });
    ws.on("close", (code) => {
      const finding = ACCEPTABLE_CLOSE_CODES.has(code) ? undefined : `closed with ${code}`;
      finish({ label: `ws close ${code}`, finding, storedIds });
    });
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        const problem = errorShapeProblem(
          { status, headers: { "content-type": res.headers["content-type"] ?? "" }, body },
          false,
        );
        finish({ label: `http ${status}`, finding: problem });
      });
    });
    ws.on("error", () => {});
  });
}

/** A real handshake by hand, then bytes that may or may not be frames. */
function sendRawFrames(url: string, input: WsInput): Promise<Outcome> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    let text = "";
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        `GET ${input.path} HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\n` +
          "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n",
      );
      socket.write(input.raw as Buffer);
    });
    const timer = setTimeout(() => {
      socket.destroy();
      // Bytes that announce a longer frame than they carry leave the server waiting for the rest: fine.
      resolve({ label: "raw waiting" });
    }, 300);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      text += chunk;
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ label: text.startsWith("HTTP/1.1 101") ? "raw closed" : "raw refused" });
    });
    socket.on("error", () => {});
  });
}
