import { z } from 'zod';
import { incrementalOptions } from '../../buckets/config.js';
import { buildIncrementalCheck } from '../incremental/check.js';
import { multiclassIncremental } from '../incremental/multiclass-task.js';
import { column, type ModelTask } from '../task.js';
import { buildMulticlassCheck } from './check.js';
import { multiclassFamilies } from './families.js';

/**
 * `task: multiclass_classification`: one probability column per class, `predictions.scores: { <class>:
 * <column>, ... }` (2 to MAX_CLASSES classes), and a label column holding the class name (compared as text, so
 * a text, enum or integer column all work). The predicted class is the one with the highest probability, ties
 * to the first class in `scores` order. Classes named by whole numbers (0, 1, 2) come first, in ascending order
 * whatever their order in the file: YAML mappings reach mlwatch as JavaScript objects, which order such keys so.
 *
 * Not supported yet, refused with a clear message: `threshold` (the argmax needs none), `segments` and
 * `reference` (prediction drift: PSI compares one value per prediction).
 */

/** Each class is a value of the `class` label of the per-class series: a bound on the series per model. */
export const MAX_CLASSES = 50;

const scores = z
  .record(z.string().min(1, { error: 'a class name cannot be empty' }), column('probability'), {
    error:
      'expected a mapping of each class name to its probability column, e.g. { low: p_low, high: p_high }',
  })
  .superRefine((s, ctx) => {
    const classes = Object.keys(s);
    if (classes.length < 2) {
      ctx.addIssue({
        code: 'custom',
        message: `a multiclass model needs at least 2 classes in scores, got ${classes.length}${classes.length ? ` (${classes.join(', ')})` : ''}; a single probability is binary_classification's score`,
      });
    }
    if (classes.length > MAX_CLASSES) {
      ctx.addIssue({
        code: 'custom',
        message: `at most ${MAX_CLASSES} classes (each is a value of the class label of the per-class series), got ${classes.length}`,
      });
    }
    const byColumn = new Map<string, string>();
    for (const [name, col] of Object.entries(s)) {
      const first = byColumn.get(col);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `column '${col}' is already the probability of class '${first}'; each class needs its own column`,
        });
      } else byColumn.set(col, name);
    }
  });

/** The classes of a model, in `scores` order: each class name and its probability column. */
export type Classes = { name: string; column: string }[];

export const multiclassTask = {
  predictionFields: { scores: scores.optional() },
  families: multiclassFamilies,
  wrongColumns: (foreign) =>
    `a multiclass_classification model names one probability column per class as scores: { <class>: <column>, ... }${foreign.length ? `, not ${foreign.join(' or ')}` : ''}`,
  refine(m, ctx) {
    const refuse = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
    if (m.threshold !== undefined)
      refuse(
        'threshold',
        'a multiclass_classification model predicts the class of highest probability; remove threshold (it is for binary_classification)',
      );
    if (m.segments !== undefined)
      refuse(
        'segments',
        'segments are not supported for multiclass_classification models yet; remove segments',
      );
    if (m.reference !== undefined)
      refuse(
        'reference',
        'prediction drift (reference) is not supported for multiclass_classification models yet; remove reference',
      );
  },
  performance(m, entry) {
    const s = entry.predictions.scores as z.output<typeof scores>;
    const classes = Object.entries(s).map(([name, col]) => ({ name, column: col }));
    return entry.incremental === undefined
      ? buildMulticlassCheck(m, classes)
      : buildIncrementalCheck(m, incrementalOptions(entry.incremental), multiclassIncremental(m, classes));
  },
} satisfies ModelTask;
