import type { Sample } from '../../metrics/types.js';
import type { Queryable } from '../../warehouse/types.js';
import type { Check, CheckResult } from '../types.js';
import { type DatasetContext, datasetCheck } from './context.js';
import type { DriftSpec } from './drift.js';
import { type FeatureKind, ksStatement, type Source } from './drift-sql.js';
import { datasetFamilies } from './families.js';

/** Distinct values per value at or under which a feature's running counts go by value (ksStatement). */
const BY_VALUE_BELOW = 1 / 3;

/**
 * The exact two-sample Kolmogorov-Smirnov statistic of every numeric drift feature, as a check of its own:
 * `dataset:<name>:drift_ks`, scheduled every `ks_interval` (default 1h) rather than with the dataset.
 *
 * Why apart from the binned drift check: an exact KS needs every raw value of both samples in order. Its one
 * statement reads the live reference and sorts every value of both samples per feature (O(N log N), spilling
 * past work_mem); 7 features of a 1,000,000-row window against a 100,000-row reference cost about 110
 * count(*)s, six times the binned statement, and the sort alone costs as much as pulling both samples into
 * pandas for scipy (bench/README.md). Running it with the dataset would make every drift run pay
 * that; on its own schedule the PSI/JS check stays cheaper and KS stays exact, with its own mlwatch_check_*
 * health (the dataset's timeout applies to each run).
 *
 * A feature whose current or live reference sample is empty gets no row from the statement: its KS series is
 * counted as skipped (empty_window), never exported as NaN or 0.
 *
 * Each run also learns how often each feature's values repeat (distinct values over values, both samples), and
 * the next run spells a feature whose values repeat at least 3 times on average by value rather than by row
 * (ksStatement says why and what each costs). Same D either way; until a run has told, by row.
 */
export function buildKsCheck(
  ds: DatasetContext,
  spec: DriftSpec,
  reference: Source,
  current: Source,
  kinds: (q: Queryable) => Promise<{ name: string; kind: FeatureKind }[]>,
): Check {
  // Features whose last run found one distinct value per 3 values or fewer (distinct / values <= BY_VALUE_BELOW).
  const byValue = new Set<string>();
  const check = datasetCheck(ds, 'drift_ks', spec, async (q): Promise<CheckResult> => {
    const numeric = (await kinds(q)).filter((f) => f.kind === 'numeric').map((f) => f.name);
    const samples: Sample[] = [];
    if (numeric.length === 0) return { samples, skipped: {} };
    const st = ksStatement(reference, current, numeric, ds.dialect, byValue);
    const ks = new Map<string, number>();
    for (const r of await q.query(st.text, st.params)) {
      const name = numeric[Number(r.f)] as string;
      const d = r.d === null || r.d === undefined ? null : Number(r.d);
      if (d !== null && Number.isFinite(d)) ks.set(name, d);
      const share = Number(r.nd) / (Number(r.nr) + Number(r.nc));
      if (share <= BY_VALUE_BELOW) byValue.add(name);
      else byValue.delete(name);
    }
    let empty = 0;
    for (const feature of numeric) {
      const d = ks.get(feature);
      if (d === undefined) empty++;
      else
        samples.push({
          name: datasetFamilies.featureKsStatistic.name,
          labels: { dataset: ds.name, feature, window: spec.current.label },
          value: d,
        });
    }
    const skipped: Record<string, number> = empty > 0 ? { empty_window: empty } : {};
    return { samples, skipped };
  });
  return { ...check, schedule: { everyMs: spec.ks_interval } };
}
