import { z } from 'zod';
import { retrainConfig } from '../../actions/retrain/retrain-config.js';
import { rollbackConfig } from '../../actions/rollbacks/rollback-config.js';
import { duration, scheduleFields, subjectName, uniqueNames, window } from '../../config/types.js';
import { oneSchedule, scheduleOf } from '../config-fields.js';
import type { BuildContext, Check } from '../types.js';
import { modelContext } from './context.js';
import { buildLabelsCheck } from './labels.js';
import { buildPerformanceCheck } from './performance.js';
import { buildPredictionDriftCheck } from './prediction-drift.js';
import { modelReference } from './reference.js';
import { buildReferencePerformanceCheck } from './reference-performance.js';
import { buildSegmentsCheck } from './segments.js';

/**
 * The `models` section: a model's predictions and labels tables, and the windows to judge it over. Each model
 * gets a labels check (coverage, delay, leakage, versions) and a performance check (classification or
 * regression metrics), both computed in the warehouse over every window in one statement each; a model with a
 * `reference` also gets a prediction-drift check (PSI of its scores or predictions against the reference), a
 * regression model a reference-performance check (its MAE and RMSE in its reference window), and a model with
 * `segments` a segments check (its metrics per value of each segment column).
 */

const column = (what: string) => z.string({ error: `expected the ${what} column name` }).min(1);
const table = z
  .string({ error: 'expected a table name like schema.table' })
  .regex(/^("([^"]|"")+"|[^."]+)(\.("([^"]|"")+"|[^."]+)){0,2}$/, {
    error: 'expected a table name like schema.table',
  });

const predictions = z.strictObject({
  table,
  key: column('key'),
  timestamp: column('timestamp'),
  score: column('score').optional(),
  prediction: column('prediction').optional(),
  version: column('model version').optional(),
});

const labels = z.strictObject({
  table,
  key: column('key'),
  timestamp: column('timestamp'),
  label: column('label'),
});

export const modelEntry = z
  .strictObject({
    name: subjectName('model'),
    task: z.enum(['binary_classification', 'regression'], {
      error: "expected 'binary_classification' or 'regression'",
    }),
    owner: z.string({ error: 'expected the owning team, e.g. data-science' }).min(1),
    // Optional: the dataset the model's features come from, exported on mlwatch_model_info so the model's
    // alerts carry it and a stale dataset silences them (docs/alertmanager.md, inhibition c). Any
    // lower_snake_case name, not only one of this file's datasets: another exporter may watch it.
    dataset: subjectName('dataset').optional(),
    predictions,
    labels,
    windows: z
      .array(window(), { error: 'expected a list of windows like [1d, 7d, 14d]' })
      .min(1)
      .default([
        { label: '1d', ms: 86_400_000 },
        { label: '7d', ms: 604_800_000 },
        { label: '14d', ms: 1_209_600_000 },
      ]),
    threshold: z
      .number({ error: 'expected the decision threshold, a number between 0 and 1' })
      .min(0, { error: 'the threshold is a score between 0 and 1' })
      .max(1, { error: 'the threshold is a score between 0 and 1' })
      .default(0.5),
    // Optional: without it the model has no prediction-drift check.
    reference: modelReference.optional(),
    // How often the reference is recomputed (default 1h): the prediction-drift bins, cached in between, and a
    // regression model's reference-window errors (their check's schedule).
    reference_interval: duration('an interval').optional(),
    // Optional: columns of the predictions table to slice the metrics by (the segments check). Each column's
    // top max_segments values by predictions keep their own series, the rest are `other`: bounded labels.
    segments: z
      .array(column('segment'), {
        error: 'expected a list of predictions-table columns to slice by, e.g. [channel]',
      })
      .min(1, { error: 'list at least one column, or remove segments' })
      .optional(),
    // Default 10 (applied when building, so that max_segments without segments can be refused).
    max_segments: z
      .number({ error: 'expected how many values of each segment column keep their own series, 1 to 100' })
      .int({ error: 'max_segments is a whole number from 1 to 100' })
      .min(1, { error: 'max_segments is a whole number from 1 to 100' })
      .max(100, { error: 'max_segments is a whole number from 1 to 100' })
      .optional(),
    // Optional: where and when retraining is requested (src/state/retrain-config.ts, docs/retraining.md).
    retrain: retrainConfig.optional(),
    // Optional: where a jointly approved rollback is executed (src/state/rollback-config.ts, docs/rollbacks.md).
    rollback: rollbackConfig.optional(),
    ...scheduleFields,
  })
  .superRefine((m, ctx) => {
    if (
      m.task === 'binary_classification' &&
      (m.predictions.score === undefined || m.predictions.prediction !== undefined)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['predictions'],
        message:
          'a binary_classification model names its score column (P(positive)) as score, not prediction',
      });
    }
    if (
      m.task === 'regression' &&
      (m.predictions.prediction === undefined || m.predictions.score !== undefined)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['predictions'],
        message: 'a regression model names its predicted value column as prediction, not score',
      });
    }
    const seen = new Set<string>();
    m.windows.forEach((w, i) => {
      if (seen.has(w.label))
        ctx.addIssue({ code: 'custom', path: ['windows', i], message: `window ${w.label} is listed twice` });
      seen.add(w.label);
    });
    if (m.reference_interval !== undefined && m.reference === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['reference_interval'],
        message:
          'reference_interval needs a reference to recompute; add reference (e.g. {window: 14d}) or remove it',
      });
    }
    const columns = new Set<string>();
    m.segments?.forEach((c, i) => {
      if (columns.has(c))
        ctx.addIssue({
          code: 'custom',
          path: ['segments', i],
          message: `segment column '${c}' is listed twice`,
        });
      columns.add(c);
    });
    if (m.max_segments !== undefined && m.segments === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['max_segments'],
        message: 'max_segments needs segments to cap; add segments (e.g. [channel]) or remove it',
      });
    }
    oneSchedule(m, ctx);
  });

export type ModelEntry = z.output<typeof modelEntry>;

export function validateModels(entries: ModelEntry[], ctx: z.RefinementCtx): void {
  uniqueNames(entries, 'models', 'model', ctx);
}

export function buildModelChecks(entry: ModelEntry, ctx: BuildContext): Check[] {
  const schedule = scheduleOf(entry, ctx.defaultIntervalMs);
  const m = modelContext(entry, schedule, entry.timeout ?? ctx.defaultTimeoutMs, ctx.dialect);
  const checks = [buildLabelsCheck(m), buildPerformanceCheck(m)];
  const referenceInterval = { intervalMs: entry.reference_interval ?? 3_600_000 };
  if (entry.reference !== undefined) {
    checks.push(buildPredictionDriftCheck(m, entry.reference, referenceInterval));
  }
  // Every regression model, reference configured or not: its reference-window errors are the default error
  // thresholds of the rules (MlwatchModelErrorHigh, MlwatchModelRmseHigh), so it alerts without a rule edit.
  if (entry.task === 'regression') {
    checks.push(buildReferencePerformanceCheck(m, entry.reference, referenceInterval));
  }
  if (entry.segments !== undefined) {
    checks.push(buildSegmentsCheck(m, { columns: entry.segments, maxSegments: entry.max_segments ?? 10 }));
  }
  return checks;
}
