import { z } from 'zod';
import { retrainConfig } from '../../actions/retrain/retrain-config.js';
import { rollbackConfig } from '../../actions/rollbacks/rollback-config.js';
import { duration, subjectName, uniqueNames, window } from '../../config/types.js';
import { incrementalOptions, incrementalSpec } from '../buckets/config.js';
import { scheduleOf, subjectEntry, tableName } from '../config-fields.js';
import type { BuildContext, Check } from '../types.js';
import { modelContext } from './context.js';
import { modelFamilies, segmentFamilies } from './families.js';
import { buildIncrementalCheck } from './incremental/check.js';
import { labelsIncremental } from './incremental/labels-task.js';
import { segmentsIncremental } from './incremental/segments-task.js';
import { buildLabelsCheck } from './labels.js';
import { buildPredictionDriftCheck } from './prediction-drift.js';
import { modelReference } from './reference.js';
import { buildSegmentsCheck } from './segments.js';
import { column } from './task.js';
import { checkTask, modelTaskNames, modelTasks, taskFamilies, taskPredictionFields } from './tasks.js';

/**
 * The `models` section: a model's predictions and labels tables, and the windows to judge it over. Each model
 * gets a labels check (coverage, delay, leakage, versions) and a performance check (the metrics of its task:
 * tasks.ts), both computed in the warehouse over every window in one statement each; a model with a
 * `reference` also gets a prediction-drift check (PSI of its scores or predictions against the reference), a
 * regression model a reference-performance check (its MAE and RMSE in its reference window), and a model with
 * `segments` a segments check (its metrics per value of each segment column).
 */

const predictions = z.strictObject({
  table: tableName,
  key: column('key'),
  timestamp: column('timestamp'),
  // The columns each task reads (score, prediction, scores, ...): checkTask says which a model must give.
  ...taskPredictionFields,
  version: column('model version').optional(),
});

const labels = z.strictObject({
  table: tableName,
  key: column('key'),
  timestamp: column('timestamp'),
  label: column('label'),
});

export const modelEntry = subjectEntry('model', {
  task: z.enum(modelTaskNames, {
    error: `expected ${modelTaskNames
      .map((t) => `'${t}'`)
      .join(', ')
      .replace(/, ([^,]*)$/, ' or $1')}`,
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
  // Default 0.5 (applied when building, so that a task without a threshold can refuse one).
  threshold: z
    .number({ error: 'expected the decision threshold, a number between 0 and 1' })
    .min(0, { error: 'the threshold is a score between 0 and 1' })
    .max(1, { error: 'the threshold is a score between 0 and 1' })
    .optional(),
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
  // Optional, every task: keep the performance, labels and prediction-drift checks' sums per time bucket so a run
  // reads only what arrived since the last one (src/checks/model/incremental/, docs/architecture.md "Incremental checks").
  // The AUC is exact as of the last full run: hourly by default.
  incremental: incrementalSpec(3_600_000).optional(),
  // Optional: where and when retraining is requested (src/actions/retrain/retrain-config.ts, docs/retraining.md).
  retrain: retrainConfig.optional(),
  // Optional: where a jointly approved rollback is executed (src/actions/rollbacks/rollback-config.ts, docs/rollbacks.md).
  rollback: rollbackConfig.optional(),
}).superRefine((m, ctx) => {
  checkTask(m, ctx);
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
});

export type ModelEntry = z.output<typeof modelEntry>;

/** The model section's metric families: the common ones, each task's own, then the per-segment ones. */
export const modelSectionFamilies = { ...modelFamilies, ...taskFamilies, ...segmentFamilies };

export function validateModels(entries: ModelEntry[], ctx: z.RefinementCtx): void {
  uniqueNames(entries, 'models', 'model', ctx);
}

export function buildModelChecks(entry: ModelEntry, ctx: BuildContext): Check[] {
  const schedule = scheduleOf(entry, ctx.defaultIntervalMs);
  const m = modelContext(entry, schedule, entry.timeout ?? ctx.defaultTimeoutMs, ctx.dialect);
  const task = modelTasks[entry.task];
  const incremental = entry.incremental === undefined ? undefined : incrementalOptions(entry.incremental);
  const labels =
    incremental === undefined
      ? buildLabelsCheck(m)
      : buildIncrementalCheck(m, incremental, labelsIncremental(m));
  const checks = [labels, task.performance(m, entry)];
  const referenceInterval = { intervalMs: entry.reference_interval ?? 3_600_000 };
  if (entry.reference !== undefined) {
    checks.push(buildPredictionDriftCheck(m, entry.reference, { ...referenceInterval, incremental }));
  }
  if ('moreChecks' in task) checks.push(...task.moreChecks(m, entry, referenceInterval));
  if (entry.segments !== undefined) {
    const spec = { columns: entry.segments, maxSegments: entry.max_segments ?? 10 };
    checks.push(
      incremental === undefined
        ? buildSegmentsCheck(m, spec)
        : buildIncrementalCheck(m, incremental, segmentsIncremental(m, spec)),
    );
  }
  return checks;
}
