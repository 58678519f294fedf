import type { MetricSections } from '../metrics.js';
import type { NowSections, ReportPeriod, Section } from '../types.js';
import { dataNow, jobsNow, kpisNow, metricsNow } from './sections.js';
import type { NowSource } from './values.js';

export interface Filled {
  metrics: MetricSections;
  now?: NowSections | undefined;
  /** For stderr: that the values now stood in for Prometheus, and the checks that failed meanwhile. */
  warnings: string[];
}

const KEYS = ['performance', 'coverage', 'drift'] as const;
const reasonOf = (s: Section<unknown>) => ('unavailable' in s ? s.unavailable : undefined);

/** The sections as they are, but those Prometheus could not give replaced by `replace` (given the reason). */
function each(
  m: MetricSections,
  replace: <K extends (typeof KEYS)[number]>(k: K, reason: string) => MetricSections[K],
): MetricSections {
  const one = <K extends (typeof KEYS)[number]>(k: K): MetricSections[K] => {
    const r = reasonOf(m[k]);
    return r === undefined ? m[k] : replace(k, r);
  };
  return { performance: one('performance'), coverage: one('coverage'), drift: one('drift') };
}

/**
 * Fills the metric sections Prometheus could not give (none configured, unreachable, a refused query) with the
 * values now, read from `source` only then. A section Prometheus did give stays: one review may hold both, and
 * each section names its source and, for the values now, why and what needs Prometheus (docs/report.md).
 */
export async function fillFromNow(
  m: MetricSections,
  source: NowSource | undefined,
  p: ReportPeriod,
): Promise<Filled> {
  const reasons = [...new Set(KEYS.flatMap((k) => reasonOf(m[k]) ?? []))];
  if (!source || reasons.length === 0) return { metrics: m, warnings: [] };
  const why = reasons.join('; ');
  let values: Awaited<ReturnType<NowSource['read']>>;
  try {
    values = await source.read();
  } catch (err) {
    const cannot = `the values now cannot be read either: ${(err as Error).message}`;
    const out = each(m, (_k, r) => ({ unavailable: `${r}; ${cannot}` }));
    return { metrics: out, warnings: [] };
  }
  // Each section keeps its own reason: a query Prometheus refused is not the same as no Prometheus at all.
  const out = each(m, (k, r) => metricsNow(values, p, { kind: 'now', from: values.from, why: r })[k]);
  return {
    metrics: out,
    now: {
      from: values.from,
      detail: values.detail,
      why,
      failed: values.failed,
      data: dataNow(values.samples),
      jobs: jobsNow(values.samples, p.window),
      kpis: kpisNow(values.samples, p.window),
    },
    warnings: [
      `${why}: the model and data sections show the values now, from ${values.from} (${values.detail}), without the period's history`,
      ...values.failed.map((f) => `check ${f.check} failed${f.error ? `: ${f.error}` : ''}`),
    ],
  };
}
