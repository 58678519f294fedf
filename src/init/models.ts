import type { CatalogTable } from './catalog.js';
import type { Chooser } from './choose.js';
import { pickTimestamp, tableRef, timestamps } from './columns.js';
import {
  hasLabelColumn,
  LABEL_TIMES,
  LABELS_TABLE,
  labelCandidates,
  numericColumns,
  PREDICTION_TIMES,
  PREDICTIONS_TABLE,
  type PredictionColumns,
  predictionColumns,
  sharedKeys,
  stem,
  type Task,
  valueColumns,
} from './model-columns.js';
import { type NameSet, subjectName } from './names.js';
import { findTable, sameTable } from './tables.js';
import type { Proposed } from './types.js';

/**
 * Models: a predictions table paired with the labels table that shares its key. Where the catalog leaves a
 * choice open (two score columns, two labels tables), the flags decide, or a terminal prompt, or init stops
 * naming the flag. The flags speak of one model: the one `--model-table` names, else the only one found.
 */

export interface ModelFlags {
  modelTable?: string | undefined;
  labelTable?: string | undefined;
  key?: string | undefined;
  score?: string | undefined;
  label?: string | undefined;
  modelName?: string | undefined;
}

export interface ProposedModel extends Proposed {
  /** The join key: a dataset whose rows it identifies is linked as the model's `dataset`. */
  key: string;
}

const hasPredictionColumns = (c: PredictionColumns) =>
  c.scores.length + c.classes.length + c.predicted.length > 0;

const looksLikePredictions = (t: CatalogTable) =>
  PREDICTIONS_TABLE.test(t.name) && timestamps(t).length > 0 && hasPredictionColumns(predictionColumns(t));

const looksLikeLabels = (t: CatalogTable) =>
  timestamps(t).length > 0 && (LABELS_TABLE.test(t.name) || hasLabelColumn(t));

const flagName = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

export async function proposeModels(
  tables: CatalogTable[],
  flags: ModelFlags,
  chooser: Chooser,
  names: NameSet,
): Promise<{ models: ProposedModel[]; notes: string[] }> {
  const notes: string[] = [];
  const forced = (flag: string, written: string | undefined) => {
    if (written === undefined) return undefined;
    const found = findTable(tables, flag, written);
    if (found.problem) chooser.problems.push(found.problem);
    return found.table ?? null;
  };
  if (flags.modelName !== undefined && !/^[a-z][a-z0-9_]*$/.test(flags.modelName)) {
    chooser.problems.push(
      `--model-name ${flags.modelName}: a model name uses lower_snake_case: a-z, 0-9 and _`,
    );
  }
  const forcedPredictions = forced('--model-table', flags.modelTable);
  const forcedLabels = forced('--label-table', flags.labelTable);
  if (forcedPredictions === null || forcedLabels === null) return { models: [], notes };

  const predictions = tables.filter(looksLikePredictions);
  if (forcedPredictions && !predictions.some((t) => sameTable(t, forcedPredictions)))
    predictions.unshift(forcedPredictions);
  const labels = tables.filter((t) => looksLikeLabels(t) && !predictions.some((p) => sameTable(p, t)));

  // The model the flags are about.
  const targeted = forcedPredictions ?? (predictions.length === 1 ? predictions[0] : undefined);
  const given = (['labelTable', 'key', 'score', 'label', 'modelName'] as const).filter(
    (k) => flags[k] !== undefined,
  );
  if (targeted === undefined && given.length > 0) {
    const flag = flagName(given[0] as string);
    chooser.problems.push(
      predictions.length === 0
        ? `${flag}: no table looks like a model's predictions (a name with prediction, score or inference, a timestamp and a score column); name it with --model-table schema.table`
        : `${flag}: ${predictions.length} predictions tables were found (${predictions.map(tableRef).join(', ')}); name the one it is for with --model-table`,
    );
  }

  const models: ProposedModel[] = [];
  for (const p of predictions) {
    const isTarget = targeted !== undefined && sameTable(p, targeted);
    const model = await proposeModel(p, labels, isTarget ? flags : {}, {
      chooser,
      names,
      labelTable: isTarget ? forcedLabels : undefined,
      forced: forcedPredictions !== undefined && sameTable(p, forcedPredictions),
      withTable: predictions.length > 1 ? `--model-table ${tableRef(p)}` : undefined,
      notes,
    });
    if (model) models.push(model);
  }
  return { models, notes };
}

interface Context {
  chooser: Chooser;
  names: NameSet;
  /** --label-table, when it is about this model. */
  labelTable: CatalogTable | undefined;
  /** Named by --model-table: what cannot be found is a problem, not a note. */
  forced: boolean;
  /** With several predictions tables, a flag for this one needs --model-table beside it. */
  withTable: string | undefined;
  notes: string[];
}

/** The task a predictions table's columns say: a score wins, then one probability per class, then a value. */
function taskOf(c: PredictionColumns, flags: ModelFlags): Task {
  if (c.scores.length > 0) return 'binary_classification';
  if (c.classes.length > 0 && flags.score === undefined) return 'multiclass_classification';
  if (c.predicted.length > 0) return 'regression';
  return 'binary_classification';
}

async function proposeModel(
  p: CatalogTable,
  labelTables: CatalogTable[],
  flags: ModelFlags,
  ctx: Context,
): Promise<ProposedModel | undefined> {
  const { chooser, withTable } = ctx;
  const ref = tableRef(p);
  const l = ctx.labelTable ?? (await pickLabels(p, labelTables, ctx));
  if (l === undefined) return undefined;
  const lref = tableRef(l);

  const predictedAt = pickTimestamp(p, PREDICTION_TIMES);
  const observedAt = pickTimestamp(l, LABEL_TIMES);
  if (predictedAt === undefined || observedAt === undefined) {
    chooser.problems.push(
      `${predictedAt === undefined ? ref : lref} has no timestamp column (timestamp with or without time zone); a model's predictions and labels need one`,
    );
    return undefined;
  }

  const key = await chooser.choose({
    flag: '--key',
    what: `the key joining ${ref} to ${lref}`,
    candidates: sharedKeys(p, l),
    allowed: p.columns.map((c) => c.name).filter((n) => l.columns.some((c) => c.name === n)),
    given: flags.key,
    with: withTable,
  });

  const cols = predictionColumns(p);
  const task = taskOf(cols, flags);
  let predicted: Record<string, unknown>;
  if (task === 'multiclass_classification') {
    predicted = { scores: Object.fromEntries(cols.classes.map((c) => [c.name, c.column])) };
  } else {
    const column = await chooser.choose({
      flag: '--score',
      what:
        task === 'regression'
          ? `the predicted value column of ${ref}`
          : `the score column (P(positive)) of ${ref}`,
      candidates: task === 'regression' ? cols.predicted : cols.scores,
      allowed: numericColumns(p),
      given: flags.score,
      with: withTable,
    });
    predicted = task === 'regression' ? { prediction: column } : { score: column };
  }

  const label = await chooser.choose({
    flag: '--label',
    what: `the label column of ${lref}`,
    candidates: labelCandidates(l, task),
    allowed: valueColumns(l),
    given: flags.label,
    with: withTable,
  });
  if (key === undefined || label === undefined || Object.values(predicted).includes(undefined))
    return undefined;

  const name = ctx.names.take(flags.modelName ?? subjectName(stem(p.name) || stem(l.name) || label, 'model'));
  const entry: Record<string, unknown> = {
    name,
    task,
    owner: 'data-science',
    predictions: {
      table: ref,
      key,
      timestamp: predictedAt,
      ...predicted,
      ...(cols.version ? { version: cols.version } : {}),
    },
    labels: { table: lref, key, timestamp: observedAt, label },
    windows: ['1d', '7d', '14d'],
    ...(task === 'binary_classification' ? { threshold: 0.5 } : {}),
  };
  return { entry, key, tables: [p, l], note: modelNote(task, ref, lref, key, cols.version) };
}

function modelNote(task: Task, ref: string, lref: string, key: string, version: string | undefined): string {
  const metrics =
    task === 'binary_classification'
      ? 'AUC, log loss, accuracy, precision and recall at the threshold'
      : task === 'regression'
        ? 'MAE, RMSE, MAPE, bias and R²'
        : 'accuracy, log loss, per-class precision, recall, F1 and AUC';
  return [
    `${task.replace(/_/g, ' ')}: each prediction of ${ref} joined to the latest label of ${lref} on ${key};`,
    `${metrics}, label coverage and delay per window${version ? ` and per ${version}` : ''}.`,
    'Rename it to what it predicts (the `model` label); owner is the team its alerts go to.',
  ].join(' ');
}

async function pickLabels(
  p: CatalogTable,
  labelTables: CatalogTable[],
  ctx: Context,
): Promise<CatalogTable | undefined> {
  const ref = tableRef(p);
  const sharing = labelTables.filter((l) => sharedKeys(p, l).length > 0);
  // risk_tier_predictions goes with risk_tier_outcomes rather than with outcomes.
  const sameStem = sharing.filter((l) => stem(l.name) === stem(p.name));
  const candidates = sameStem.length === 1 ? sameStem : sharing;
  if (candidates.length === 0) {
    if (ctx.forced) {
      ctx.chooser.problems.push(
        `--model-table ${ref}: no labels table shares a key column with it; pass --label-table <table>`,
      );
    } else {
      ctx.notes.push(
        `${ref} looks like predictions, but no labels table shares a key column with it; for a model, pass --model-table ${ref} --label-table <table>`,
      );
    }
    return undefined;
  }
  const picked = await ctx.chooser.choose({
    flag: '--label-table',
    what: `the labels table of ${ref}`,
    answer: 'table',
    candidates: candidates.map(tableRef),
    with: ctx.withTable,
  });
  return candidates.find((t) => tableRef(t) === picked);
}
