import type { Row } from '../../../warehouse/types.js';
import { type Counts, classificationResult, countsKey, countsOf } from '../classification.js';
import {
  CALIBRATION_BIN,
  classificationStatement,
  classificationSums,
  SCORE_SUM,
} from '../classification-sql.js';
import type { ModelContext } from '../context.js';
import { close, type IncrementalTask, predictedValue } from './task.js';

/**
 * A binary classifier's incremental performance check: every metric but the AUC is a ratio of sums
 * (classificationSums, the same expressions the full statement uses), kept per calibration bin so that the
 * calibration error, a sum over bins of |sum of scores - positives|, can be taken after merging. The AUC ranks
 * every score of a window against every other, so it is not kept: it is exported as of the last full run.
 */
export function classificationIncremental(m: ModelContext): IncrementalTask<Counts> {
  const full = classificationStatement(m);
  const names = [...classificationSums('').map(([name]) => name), 'score_sum'];
  const nPos = names.indexOf('n_pos');
  const scoreSum = names.indexOf('score_sum');
  const byVersion = m.predictions.versionSql !== undefined;
  return {
    kind: 'classification',
    names,
    predicted: predictedValue(m),
    // A NaN score is no score, as in the full statement.
    rows: (_, from, keep) => `SELECT ${keep.join(', ')}, nullif(s, 'NaN'::float8) AS s, y FROM ${from}`,
    sums: (b) => [...classificationSums(b.add(m.threshold, 'float8')), ['score_sum', SCORE_SUM]],
    bin: CALIBRATION_BIN,
    empty: names.map(() => 0),
    combine(into, x, sign) {
      x.forEach((v, j) => {
        into[j] = (into[j] as number) + sign * v;
      });
    },
    value(bins) {
      const total = names.map(() => 0);
      let calibrationNum = 0;
      for (const s of bins.values()) {
        s.forEach((v, j) => {
          total[j] = (total[j] as number) + v;
        });
        calibrationNum += Math.abs((s[scoreSum] as number) - (s[nPos] as number));
      }
      const row: Row = Object.fromEntries(names.map((name, j) => [name, total[j]]));
      // The AUC numerator stays 0: the AUC comes from the last full recomputation.
      return countsOf({ ...row, auc_num: 0, calibration_num: calibrationNum });
    },
    full,
    fullValues(rows) {
      const values = new Map<string, Counts>();
      const versions = new Set<string>(byVersion ? [] : ['']);
      for (const row of rows) {
        const version = byVersion && row.v !== null && row.v !== undefined ? String(row.v) : '';
        versions.add(version);
        values.set(countsKey(Number(row.wi), version), countsOf(row));
      }
      return { values, versions };
    },
    agree(merged, exact) {
      for (const key of new Set([...merged.keys(), ...exact.keys()])) {
        const a = merged.get(key);
        const b = exact.get(key);
        // A (window, version) with no scored rows is a zero row in the full statement and absent from the merge.
        const fields = Object.keys(a ?? b ?? {}) as Array<keyof Counts>;
        for (const f of fields) if (f !== 'aucNum' && !close(a?.[f] ?? 0, b?.[f] ?? 0)) return false;
      }
      return true;
    },
    result: (values, versions, lastFull) => classificationResult(m, values, versions, lastFull),
  };
}
