import type { ModelContext } from '../context.js';
import { type ClassCounts, EMPTY_CLASS, multiclassResult, multiclassValues } from '../multiclass/check.js';
import { classProbabilities, classSums, multiclassStatement, perClassRows } from '../multiclass/statement.js';
import type { Classes } from '../multiclass/task.js';
import { close, type IncrementalTask } from './task.js';

/** ClassCounts' fields in the order of classSums' names, the AUC's left out. */
const FIELDS = ['pos', 'pred', 'tp', 'logLossSum', 'unknown'] as const;

/**
 * A multiclass model's incremental performance check: every metric but the AUCs is a ratio of per-class sums
 * (classSums, the same expressions the full statement uses over the same per-class rows, perClassRows), kept
 * per class (the bin is the class index). A class's AUC ranks every probability of the window against every
 * other, so it is not kept: the AUCs are exported as of the last full run, as the binary classifier's.
 */
export function multiclassIncremental(m: ModelContext, classes: Classes): IncrementalTask<ClassCounts[]> {
  const sums = classSums('TRUE');
  const names = sums.map(([name]) => name);
  return {
    kind: 'multiclass',
    names,
    predicted: classProbabilities(classes),
    rows: (b, from, keep) => perClassRows(b, classes, from, keep),
    sums: () => sums,
    bin: 'ci',
    empty: names.map(() => 0),
    combine(into, x, sign) {
      x.forEach((v, j) => {
        into[j] = (into[j] as number) + sign * v;
      });
    },
    value(bins) {
      return classes.map((_, ci) => {
        const x = bins.get(ci);
        if (x === undefined) return EMPTY_CLASS;
        const c: ClassCounts = { ...EMPTY_CLASS };
        FIELDS.forEach((f, j) => {
          c[f] = x[j] as number;
        });
        return c;
      });
    },
    full: multiclassStatement(m, classes),
    fullValues: (rows) => multiclassValues(m, classes, rows),
    agree(merged, exact) {
      for (const key of new Set([...merged.keys(), ...exact.keys()])) {
        const a = merged.get(key);
        const b = exact.get(key);
        for (let ci = 0; ci < classes.length; ci++) {
          for (const f of FIELDS) if (!close(a?.[ci]?.[f] ?? 0, b?.[ci]?.[f] ?? 0)) return false;
        }
      }
      return true;
    },
    result: (values, versions, lastFull) => multiclassResult(m, classes, values, versions, lastFull),
  };
}
