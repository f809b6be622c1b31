/**
 * Churn: clients leaving and coming back during the measured window. Each
 * wave, a fraction of the clients that are connected leave with a clean
 * close and return `offlineForMs` later, resuming from their cursor.
 */
export interface ChurnPlan {
  /** Monotonic ms of the first wave (the start of the measured window). */
  startMs: number;
  /** Every returning client must be back before this (the end of the window). */
  endMs: number;
  everyMs: number;
  offlineForMs: number;
  fraction: number;
}

/** When the waves leave: from the start, every `everyMs`, as long as they are back before the end. */
export function churnWaves(plan: ChurnPlan): number[] {
  const waves: number[] = [];
  if (!(plan.everyMs > 0)) return waves;
  for (let atMs = plan.startMs; atMs + plan.offlineForMs < plan.endMs; atMs += plan.everyMs) {
    waves.push(atMs);
  }
  return waves;
}

/**
 * Which of `candidates` leave in one wave: round(fraction × candidates),
 * picked with `random` (seeded) so a run can be repeated.
 */
export function pickLeavers<T>(
  candidates: readonly T[],
  fraction: number,
  random: () => number,
): T[] {
  const pool = [...candidates];
  const count = Math.min(pool.length, Math.round(fraction * pool.length));
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
  }
  return pool.slice(0, count);
}
