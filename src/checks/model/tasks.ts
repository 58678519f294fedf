import type { z } from 'zod';
import type { CatalogEntry } from '../../metrics/family.js';
import { binaryClassificationTask } from './classification.js';
import { multiclassTask } from './multiclass/task.js';
import { regressionTask } from './regression.js';
import type { ModelTask, TaskEntry } from './task.js';

/**
 * The model tasks, by their name in `models[].task`: a new task is its object (task.ts says what one holds) and
 * one line here. The model section takes the accepted names, the `predictions` keys and each model's
 * performance check from this list.
 */
export const modelTasks = {
  binary_classification: binaryClassificationTask,
  regression: regressionTask,
  multiclass_classification: multiclassTask,
} satisfies Record<string, ModelTask>;

export type ModelTaskName = keyof typeof modelTasks;

export const modelTaskNames = Object.keys(modelTasks) as [ModelTaskName, ...ModelTaskName[]];

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void
  ? I
  : never;

/** Every task's `predictions` keys, in the order of `modelTasks`. */
export const taskPredictionFields = Object.assign(
  {},
  ...Object.values(modelTasks).map((t) => t.predictionFields),
) as UnionToIntersection<(typeof modelTasks)[ModelTaskName]['predictionFields']>;

/** The families the tasks add to the model layer, in the order of `modelTasks`. */
export const taskFamilies = Object.assign(
  {},
  ...Object.values(modelTasks).map((t: ModelTask) => t.families ?? {}),
) as Readonly<Record<string, CatalogEntry>>;

/**
 * The prediction keys of a model against its task: each of the task's own keys given, none of another task's
 * (one issue at `predictions`, in the task's words), then the task's own refinement.
 */
export function checkTask(m: TaskEntry, ctx: z.RefinementCtx): void {
  const task: ModelTask = modelTasks[m.task as ModelTaskName];
  const own = Object.keys(task.predictionFields);
  const foreign = Object.values(modelTasks)
    .flatMap((t) => Object.keys(t.predictionFields))
    .filter((k) => !own.includes(k) && m.predictions[k] !== undefined);
  if (foreign.length > 0 || own.some((k) => m.predictions[k] === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['predictions'], message: task.wrongColumns(foreign) });
  }
  task.refine?.(m, ctx);
}
