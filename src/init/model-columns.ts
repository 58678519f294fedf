import { MAX_CLASSES } from '../checks/model/multiclass/task.js';
import type { CatalogColumn, CatalogTable } from './catalog.js';
import { isBoolean, isInteger, isKeyName, isNumeric, isText, isTimestamp, named } from './columns.js';

/**
 * How a predictions table and a labels table look by name: the table's name says what it holds, a column's name
 * what it is (a score, a class probability, a predicted value, a label). A model's task follows from what its
 * predictions table has: one probability (binary classification), one per class (multiclass), a value
 * (regression).
 */

export const PREDICTIONS_TABLE = /predict|scor(e|ing)|inference|forecast/i;
export const LABELS_TABLE = /label|outcome|target|actual|ground_?truth|truth|feedback/i;

// The words a predictions or labels table adds to the name of what it is about: risk_tier_predictions is risk_tier's.
const TABLE_WORDS = new Set([
  'prediction',
  'predictions',
  'predicted',
  'score',
  'scores',
  'scoring',
  'inference',
  'inferences',
  'forecast',
  'forecasts',
  'label',
  'labels',
  'outcome',
  'outcomes',
  'target',
  'targets',
  'actual',
  'actuals',
  'truth',
  'ground',
  'groundtruth',
  'feedback',
]);

/** A table's name without those words: `risk_tier_predictions` -> `risk_tier`, `predictions` -> ``. */
export function stem(name: string): string {
  return name
    .toLowerCase()
    .split('_')
    .filter((w) => w !== '' && !TABLE_WORDS.has(w))
    .join('_');
}

const SCORE =
  /^(score|proba|probability|prob|p|p1|p_1|p_true|p_positive|p_yes|propensity|likelihood)$|_(score|proba|probability|prob)$/i;
const CLASS = /^(?:p|prob|proba|probability)_(.+)$/i;
const PREDICTED =
  /^(prediction|predicted|pred|predicted_value|yhat|y_hat|forecast|estimate)$|_(prediction|pred|forecast|estimate)$/i;
const LABEL = /^(label|target|outcome|actual|y|ground_truth|truth|class|is_positive|positive)$/i;
const VERSION = /^(model_version|version)$/i;

export const PREDICTION_TIMES = [
  'predicted_at',
  'scored_at',
  'prediction_time',
  'inferred_at',
  'created_at',
  'timestamp',
  'ts',
  'at',
];
export const LABEL_TIMES = [
  'observed_at',
  'labeled_at',
  'labelled_at',
  'label_at',
  'resolved_at',
  'outcome_at',
  'known_at',
  'created_at',
  'timestamp',
  'ts',
  'at',
];

/** A column that is data about the row rather than its identity or its time. */
const isValue = (c: CatalogColumn) => !isKeyName(c.name) && !isTimestamp(c);

export interface PredictionColumns {
  /** Columns that could be P(positive): a binary classifier's score. */
  scores: string[];
  /** One probability column per class (two or more): class name -> column. */
  classes: { name: string; column: string }[];
  /** Columns that could be a regression model's predicted value. */
  predicted: string[];
  version: string | undefined;
}

export function predictionColumns(t: CatalogTable): PredictionColumns {
  const numeric = (c: CatalogColumn) => isNumeric(c) && isValue(c);
  const perClass = named(t, CLASS, numeric).filter((c) => !SCORE.test(c.name));
  // A single p_<something> is the probability of that one class: a binary score.
  const scores = [...named(t, SCORE, numeric), ...(perClass.length === 1 ? perClass : [])];
  return {
    scores: scores.map((c) => c.name),
    classes:
      perClass.length >= 2 && perClass.length <= MAX_CLASSES
        ? perClass.map((c) => ({
            name: (CLASS.exec(c.name) as RegExpExecArray)[1] as string,
            column: c.name,
          }))
        : [],
    predicted: named(t, PREDICTED, numeric).map((c) => c.name),
    version: named(t, VERSION, (c) => isText(c) || isInteger(c))[0]?.name,
  };
}

export type Task = 'binary_classification' | 'multiclass_classification' | 'regression';

/** The columns of a labels table that could hold the label of a `task` model: by name first, else by type. */
export function labelCandidates(t: CatalogTable, task: Task): string[] {
  const fits = (c: CatalogColumn) =>
    task === 'regression'
      ? isNumeric(c)
      : task === 'binary_classification'
        ? isBoolean(c) || isInteger(c) || isText(c)
        : isText(c) || isInteger(c);
  const byName = named(t, LABEL, (c) => isValue(c) && fits(c));
  if (byName.length > 0) return byName.map((c) => c.name);
  return t.columns.filter((c) => isValue(c) && fits(c) && !VERSION.test(c.name)).map((c) => c.name);
}

/** Whether a column's name says it is a label (label, target, outcome, actual...). */
export const hasLabelColumn = (t: CatalogTable) => named(t, LABEL, isValue).length > 0;

/** Key-like columns both tables have: what joins a prediction to its label. */
export function sharedKeys(p: CatalogTable, l: CatalogTable): string[] {
  const theirs = new Set(l.columns.filter((c) => !isTimestamp(c)).map((c) => c.name));
  return p.columns.filter((c) => isKeyName(c.name) && theirs.has(c.name)).map((c) => c.name);
}

/** The value columns of a table (for flags that name any of them). */
export const valueColumns = (t: CatalogTable) => t.columns.filter(isValue).map((c) => c.name);

/** Its numeric value columns: what a score or a predicted value can be. */
export const numericColumns = (t: CatalogTable) =>
  t.columns.filter((c) => isValue(c) && isNumeric(c)).map((c) => c.name);
