import { parseDuration } from '../../../config/duration.js';
import type { Sample } from '../../../metrics/types.js';
import type { KeyContext, KeyValue } from '../key-values.js';

/** What the headlines of every layer share: choosing windows and versions, reading a value now, marking. */

const windowMs = (s: Sample) => parseDuration(s.labels.window ?? '') ?? 0;

/** The samples of the widest window (all of them when the family has no window label). */
export function widest(samples: readonly Sample[]): Sample[] {
  const max = Math.max(...samples.map(windowMs));
  return samples.filter((s) => windowMs(s) === max);
}

/** The samples of the narrowest window: what is happening now, for serving logs. */
export function narrowest(samples: readonly Sample[]): Sample[] {
  const min = Math.min(...samples.map(windowMs));
  return samples.filter((s) => windowMs(s) === min);
}

/** Samples whose labels include all of `match`. */
export function where(samples: readonly Sample[], match: Record<string, string>): Sample[] {
  return samples.filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** " (v3)" after a label when the sample is a version's. */
export const versionOf = (s: Sample) => (s.labels.version ? ` (${s.labels.version})` : '');

/** Versions newest name first, at most `n`: a model with many versions shows the latest two. */
export function latestVersions(samples: readonly Sample[], n = 2): Sample[] {
  return [...samples]
    .sort((a, b) => (b.labels.version ?? '').localeCompare(a.labels.version ?? '', 'en', { numeric: true }))
    .slice(0, n);
}

/** The value of an aging sample as a scrape now would export it (Sample.agingSince). */
export function valueNow(s: Sample, ctx: KeyContext): number {
  return s.agingSince === undefined ? s.value : s.value + (ctx.monotonicMs - s.agingSince) / 1000;
}

/**
 * The samples past a line, worst first (at most `max`, each marked), or, when none is, one line saying so with
 * the worst one: "all ≤ 5 % (highest: income 1.2 %)". `higherIsWorse` false for a floor such as the AUC's.
 */
export function pastLine(
  samples: readonly Sample[],
  o: {
    line: number;
    higherIsWorse?: boolean;
    name: (s: Sample) => string;
    format: (v: number) => string;
    /** How the line itself is written when not as the values are (0.2 rather than a score's 0.200). */
    formatLine?: (v: number) => string;
    /** What the values are, for the summary line: "NULL share". */
    what: string;
    max?: number;
  },
): KeyValue[] {
  if (samples.length === 0) return [];
  const worse = o.higherIsWorse ?? true;
  const sorted = [...samples].sort((a, b) => (worse ? b.value - a.value : a.value - b.value));
  const past = sorted.filter((s) => (worse ? s.value > o.line : s.value < o.line));
  const line = (o.formatLine ?? o.format)(o.line);
  const lineText = `${worse ? 'over' : 'under'} ${line}`;
  if (past.length > 0) {
    return past.slice(0, o.max ?? 2).map((s) => ({
      label: `${o.what} ${o.name(s)}`,
      value: o.format(s.value),
      flag: lineText,
    }));
  }
  const top = sorted[0] as Sample;
  const bound = worse ? '≤' : '≥';
  const label = samples.length === 1 ? `${o.what} ${o.name(top)}` : o.what;
  const value =
    samples.length === 1
      ? o.format(top.value)
      : `all ${bound} ${line} (${worse ? 'highest' : 'lowest'}: ${o.name(top)} ${o.format(top.value)})`;
  return [{ label, value }];
}
