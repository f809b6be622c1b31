/**
 * A nesting-depth check for JSON text, run on the raw bytes before
 * JSON.parse. V8 parses deeply nested JSON without trouble but serialises it
 * recursively: a body nested a few thousand levels deep parses, is stored,
 * and then fails every JSON.stringify that includes it (a poison message).
 * Refusing it up front keeps every stored message serialisable.
 *
 * One pass, no allocation: string contents are skipped with a native
 * indexOf, so a body that is mostly one long string costs a few searches.
 * For text that JSON.parse accepts the depth found is exact; for anything
 * else the answer does not matter, because JSON.parse rejects it next.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * The index of the first `{` or `[` that opens level `maxDepth + 1`, or -1
 * when the text nests at most `maxDepth` levels (a scalar is level 0).
 */
export function findExcessNesting(bytes: Uint8Array, maxDepth: number): number {
  // Each level needs its own opening byte: short texts cannot nest too deep.
  if (bytes.length <= maxDepth) return -1;
  const buffer = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  let depth = 0;
  for (let i = 0; i < buffer.length; i++) {
    const byte = buffer[i];
    if (byte === QUOTE) {
      i = closingQuote(buffer, i + 1);
      if (i === -1) return -1;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > maxDepth) return i;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth--;
    }
  }
  return -1;
}

/** Index of the quote that ends a string whose contents start at `from`, or -1 if unterminated. */
function closingQuote(buffer: Buffer, from: number): number {
  let at = buffer.indexOf(QUOTE, from);
  while (at !== -1) {
    // A quote preceded by an odd number of backslashes is escaped.
    let backslashes = 0;
    while (at - backslashes - 1 >= from && buffer[at - backslashes - 1] === BACKSLASH) {
      backslashes++;
    }
    if (backslashes % 2 === 0) return at;
    at = buffer.indexOf(QUOTE, at + 1);
  }
  return -1;
}
