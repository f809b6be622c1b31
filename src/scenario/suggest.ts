import { formatPath } from "../shared/problem.js";

/**
 * The field the user probably meant by an unknown `key`: a near spelling
 * among the fields allowed there (`clinets` -> clients), else the same name
 * elsewhere in the scenario (an outdented `channels:` -> clients.channels).
 * Undefined when nothing is close.
 */
export function suggestField(
  key: string,
  segments: readonly (string | number)[],
  allowed: readonly string[],
  elsewhere: readonly (readonly string[])[],
): string | undefined {
  const lower = key.toLowerCase();
  const near = (name: string) => {
    const other = name.toLowerCase();
    if (editDistance(lower, other) <= maxTypos(key)) return true;
    // A shortened or lengthened name: maxRetry or retries for maxRetries.
    return (
      lower.length >= 4 &&
      other.length >= 4 &&
      (other.startsWith(lower) || lower.startsWith(other) || other.endsWith(lower))
    );
  };
  // Closest first; on a tie the longer shared start (maxRetry: maxRetries before maxDelay).
  const closeness = (name: string) =>
    editDistance(lower, name.toLowerCase()) * 100 - commonPrefix(lower, name.toLowerCase());
  const sibling = allowed.filter(near).sort((a, b) => closeness(a) - closeness(b))[0];
  if (sibling !== undefined) return formatPath([...segments, sibling]);
  // Elsewhere only the same name: a near name in another section is more often wrong than right.
  const close = elsewhere.filter((p) => p.at(-1)?.toLowerCase() === lower);
  // The shortest paths first: `clients.channels` rather than `shortPoll.reconnect.x`.
  close.sort((a, b) => a.length - b.length);
  const best = close.slice(0, 2).map((p) => formatPath(p));
  return best.length === 0 ? undefined : best.join(" or ");
}

function maxTypos(key: string): number {
  return key.length <= 4 ? 1 : key.length <= 7 ? 2 : 3;
}

function commonPrefix(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(
        (previous[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
    }
    previous = row;
  }
  return previous[b.length] as number;
}
