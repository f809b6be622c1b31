/**
 * Units in scenario files: durations (`500ms`, `30s`, `2m`, `1h`, `1m30s`)
 * and rates (`20/s`, `0.5/s`, `30/m`). Pure functions; a bad value throws a
 * RangeError whose message says what was expected and what was found, so the
 * loader can quote it.
 */

/**
 * A duration: `0`, or one or more `<number><unit>` parts with units in
 * decreasing order (h, m, s, ms), each at most once. The `m(?!s)` lookahead
 * keeps `5ms` from being read as five minutes followed by a stray `s`.
 * schema/scenario.schema.json carries the same pattern (a test keeps them equal).
 */
export const DURATION_PATTERN =
  "^(?:0|(?=\\d)(?:(\\d+(?:\\.\\d+)?)h)?(?:(\\d+(?:\\.\\d+)?)m(?!s))?(?:(\\d+(?:\\.\\d+)?)s)?(?:(\\d+(?:\\.\\d+)?)ms)?)$";

/** A rate: a non-negative decimal, `/s` (per second) or `/m` (per minute). */
export const RATE_PATTERN = "^(\\d+(?:\\.\\d+)?)/(s|m)$";

const DURATION_RE = new RegExp(DURATION_PATTERN);
const RATE_RE = new RegExp(RATE_PATTERN);

const MS_PER_SECOND = 1000;
const MS_PER_MINUTE = 60 * MS_PER_SECOND;
const MS_PER_HOUR = 60 * MS_PER_MINUTE;

export const DURATION_EXPECTED = "a duration like 500ms, 30s or 2m";
export const RATE_EXPECTED = "a rate like 20/s, 0.5/s or 30/m";

/** Milliseconds in `text` (`"1m30s"` -> 90000). Throws a RangeError on anything else. */
export function parseDuration(text: string): number {
  const match = typeof text === "string" ? DURATION_RE.exec(text) : null;
  if (match === null) {
    throw new RangeError(`expected ${DURATION_EXPECTED}, found ${JSON.stringify(text)}`);
  }
  const [, hours, minutes, seconds, millis] = match;
  return (
    part(hours) * MS_PER_HOUR +
    part(minutes) * MS_PER_MINUTE +
    part(seconds) * MS_PER_SECOND +
    part(millis)
  );
}

function part(digits: string | undefined): number {
  return digits === undefined ? 0 : Number(digits);
}

/** Events per second in `text` (`"30/m"` -> 0.5). Throws a RangeError on anything else. */
export function parseRate(text: string): number {
  const match = typeof text === "string" ? RATE_RE.exec(text) : null;
  if (match === null) {
    throw new RangeError(`expected ${RATE_EXPECTED}, found ${JSON.stringify(text)}`);
  }
  const count = Number(match[1]);
  return match[2] === "m" ? count / 60 : count;
}

/**
 * The shortest text parseDuration reads back as `ms`: `120000` -> `"2m"`,
 * `90000` -> `"1m30s"`, `0` -> `"0"`, `0.25` -> `"0.25ms"`.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`expected a non-negative number of milliseconds, found ${ms}`);
  }
  if (ms === 0) return "0";
  let rest = ms;
  let text = "";
  for (const [unit, size] of [
    ["h", MS_PER_HOUR],
    ["m", MS_PER_MINUTE],
    ["s", MS_PER_SECOND],
  ] as const) {
    const whole = Math.floor(rest / size);
    if (whole > 0) {
      text += `${whole}${unit}`;
      rest -= whole * size;
    }
  }
  // Whatever is left below a second stays in ms, fractions included, so the
  // text round-trips exactly instead of rounding a test's 0.5ms away.
  if (rest > 0) text += `${Number(rest.toFixed(6))}ms`;
  return text;
}
