import type { PollResponse } from "../shared/protocol.js";
import { parseObject } from "./frame.js";

/** How every answer without messages starts on the wire: `{"messages":[],"cursor":N}`. */
const EMPTY_PREFIX = Buffer.from('{"messages":[],"cursor":');

/**
 * The cursor of a poll answer that carries no message, read from its bytes
 * without parsing JSON (most polls are empty: this is the hot path); null
 * when the answer is anything else (messages, a gap, another layout), which
 * `parsePollAnswer` then reads in full.
 */
export function emptyAnswerCursor(body: Buffer): string | null {
  const end = body.length - 1;
  if (end <= EMPTY_PREFIX.length || body[end] !== 0x7d) return null;
  if (body.compare(EMPTY_PREFIX, 0, EMPTY_PREFIX.length, 0, EMPTY_PREFIX.length) !== 0) {
    return null;
  }
  for (let i = EMPTY_PREFIX.length; i < end; i++) {
    const c = body[i] as number;
    if (c < 0x30 || c > 0x39) return null;
  }
  return body.toString("latin1", EMPTY_PREFIX.length, end);
}

/** A full poll answer, `{messages, cursor, gap?}`; null for anything else (frame.ts). */
export function parsePollAnswer(body: Buffer): PollResponse | null {
  const answer = parseObject(body.toString("utf8")) as PollResponse | null;
  return answer !== null && Array.isArray(answer.messages) ? answer : null;
}
