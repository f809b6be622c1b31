/**
 * Axis scales and ticks for the report's charts: pure arithmetic, from a
 * data range to pixel positions and readable tick values.
 */
export interface Scale {
  /** Data value -> pixel. */
  at(value: number): number;
  ticks: { value: number; label: string }[];
}

export interface Range {
  min: number;
  max: number;
}

/** Tick step of 1, 2 or 5 times a power of ten giving about `count` ticks over `span`. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0)) return 1;
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

/** Linear scale over `[min, max]` widened to whole ticks, onto `[from, to]` pixels. */
export function linearScale(
  range: Range,
  pixels: [from: number, to: number],
  format: (value: number) => string,
  tickCount = 5,
): Scale & Range {
  const step = niceStep(range.max - range.min, tickCount);
  const min = Math.floor(range.min / step) * step;
  const max = Math.max(min + step, Math.ceil(range.max / step) * step);
  const [from, to] = pixels;
  const ticks: Scale["ticks"] = [];
  for (let v = min; v <= max + step / 2; v += step) {
    // Float steps (0.1 + 0.2): round to the step's own precision.
    const value = Number(v.toPrecision(12));
    ticks.push({ value, label: format(value) });
  }
  return { min, max, ticks, at: (value) => from + ((value - min) / (max - min)) * (to - from) };
}

/** Log-10 scale over whole decades around `[min, max]` (min > 0). */
export function logScale(
  range: Range,
  pixels: [from: number, to: number],
  format: (value: number) => string,
): Scale & Range {
  const lo = Math.floor(Math.log10(range.min));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(range.max)));
  const [from, to] = pixels;
  const ticks: Scale["ticks"] = [];
  for (let e = lo; e <= hi; e++) ticks.push({ value: 10 ** e, label: format(10 ** e) });
  return {
    min: 10 ** lo,
    max: 10 ** hi,
    ticks,
    at: (value) => {
      const clamped = Math.max(value, 10 ** lo);
      return from + ((Math.log10(clamped) - lo) / (hi - lo)) * (to - from);
    },
  };
}

/**
 * Percentiles on the "nines" axis HdrHistogram plots use: position
 * -log10(1 - p/100), so 90%, 99%, 99.9% and 99.99% are evenly spaced.
 */
export function ninesPosition(percentile: number): number {
  return -Math.log10(1 - Math.min(percentile, 99.9999) / 100);
}

export const NINES_TICKS: { value: number; label: string }[] = [
  { value: 0, label: "0%" },
  { value: 1, label: "90%" },
  { value: 2, label: "99%" },
  { value: 3, label: "99.9%" },
  { value: 4, label: "99.99%" },
];

/** Log scale when the positive values span more than `decades` powers of ten. */
export function wantsLog(values: readonly number[], decades = 2): boolean {
  const positive = values.filter((v) => v > 0);
  if (positive.length < 2) return false;
  return Math.log10(Math.max(...positive) / Math.min(...positive)) > decades;
}
