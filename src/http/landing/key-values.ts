import { catalogByName } from '../../metrics/catalog.js';
import type { Sample } from '../../metrics/types.js';
import { ago, humanDuration, number, percent } from './format.js';
import { HEADLINES } from './headlines/index.js';

/**
 * A check's key values: the few numbers an on-call reads first (the 14d AUC, the null ratios over their line,
 * the newest row's age), picked from the samples of the check's last successful run. Bounded on purpose: at most
 * MAX_KEY_VALUES per check, marked ones first; every series stays on /metrics.
 */

export interface KeyValue {
  label: string;
  value: string;
  /** Set when the value is past the bundle's default alert line (src/http/landing/marks.ts): the line, in words. */
  flag?: string;
}

export interface KeyContext {
  /** Wall clock, ms since the epoch: for timestamps (a job's last success). */
  nowMs: number;
  /** performance.now() at render: an aging sample (newest row age) is its value plus the time since it was read. */
  monotonicMs: number;
}

/** The samples of one run by family name, and the context to read them in. */
export interface SampleIndex {
  get(family: string): readonly Sample[];
  ctx: KeyContext;
}

/** One family's key values; `family` is what the check must export for `pick` to run. */
export interface Headline {
  family: string;
  pick(samples: readonly Sample[], index: SampleIndex): KeyValue[];
}

export const MAX_KEY_VALUES = 4;
/** Samples of a family the page does not know (a custom query) shown as they are. */
const MAX_PLAIN = 3;

export function keyValues(samples: readonly Sample[], ctx: KeyContext): KeyValue[] {
  const byName = new Map<string, Sample[]>();
  for (const s of samples) {
    const list = byName.get(s.name);
    if (list) list.push(s);
    else byName.set(s.name, [s]);
  }
  const index: SampleIndex = { get: (f) => byName.get(f) ?? [], ctx };
  const out: KeyValue[] = [];
  for (const h of HEADLINES) {
    const found = byName.get(h.family);
    if (found) out.push(...h.pick(found, index));
  }
  // A custom query's families are the operator's own: the page knows nothing better than their first series.
  out.push(
    ...plain(
      samples.filter((s) => !catalogByName.has(s.name)),
      ctx,
    ),
  );
  // Marked values first, so a bounded list never hides the one past its line; otherwise the headline order.
  return [...out.filter((k) => k.flag), ...out.filter((k) => !k.flag)].slice(0, MAX_KEY_VALUES);
}

/**
 * A custom query's first series and their values, read by the unit the name ends with, as Prometheus' naming
 * conventions have it: `_timestamp_seconds` as an age, `_seconds` as a duration, `_ratio` as a percentage. The card
 * is titled with the query's name, so a query of one metric shows its series by their labels alone.
 */
function plain(samples: readonly Sample[], ctx: KeyContext): KeyValue[] {
  const oneFamily = new Set(samples.map((s) => s.name)).size === 1;
  return samples.slice(0, MAX_PLAIN).map((s) => ({ label: seriesName(s, oneFamily), value: byUnit(s, ctx) }));
}

function seriesName(s: Sample, labelsOnly: boolean): string {
  const labels = Object.entries(s.labels).map(([k, v]) => `${k}=${v}`);
  if (labels.length === 0) return s.name;
  return labelsOnly ? labels.join(' ') : `${s.name} ${labels.join(' ')}`;
}

function byUnit(s: Sample, ctx: KeyContext): string {
  if (s.name.endsWith('_timestamp_seconds')) return ago(s.value * 1000, ctx.nowMs);
  if (s.name.endsWith('_seconds')) return humanDuration(s.value);
  if (s.name.endsWith('_ratio')) return percent(s.value);
  return number(s.value);
}
