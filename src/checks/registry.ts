import type { z } from 'zod';
import { buildDatasetChecks, datasetEntry, validateDatasets } from './dataset/section.js';
import { buildJobChecks, jobEntry, validateJobs } from './job/section.js';
import { buildKpiCheck, kpiEntry, validateKpis } from './kpi/section.js';
import { buildModelChecks, modelEntry, validateModels } from './model/section.js';
import { buildQueryCheck, queryEntry, validateQueries } from './query.js';
import { buildServingChecks, servingEntry, validateServing } from './serving/section.js';
import type { BuildContext, Check } from './types.js';

/**
 * The config sections that produce checks, by key. A section names the zod schema of one list entry, an
 * optional validation across entries, and how an entry becomes checks. A new check kind is a file in this
 * folder plus its line here (or, for the kinds of a dataset or model, in that section's own registry).
 */
export interface Section<E> {
  key: string;
  entry: z.ZodType<E, unknown>;
  validateAll?: (entries: E[], ctx: z.RefinementCtx) => void;
  build(entry: E, ctx: BuildContext): Check[];
}

function section<E>(s: Section<E>): Section<E> {
  return s;
}

export const querySection = section({
  key: 'queries',
  entry: queryEntry,
  validateAll: validateQueries,
  build: (q, ctx) => [buildQueryCheck(q, ctx)],
});

export const datasetSection = section({
  key: 'datasets',
  entry: datasetEntry,
  validateAll: validateDatasets,
  build: buildDatasetChecks,
});

export const modelSection = section({
  key: 'models',
  entry: modelEntry,
  validateAll: validateModels,
  build: buildModelChecks,
});

export const jobSection = section({
  key: 'jobs',
  entry: jobEntry,
  validateAll: validateJobs,
  build: buildJobChecks,
});

export const servingSection = section({
  key: 'serving',
  entry: servingEntry,
  validateAll: validateServing,
  build: buildServingChecks,
});

export const kpiSection = section({
  key: 'kpis',
  entry: kpiEntry,
  validateAll: validateKpis,
  build: (k, ctx) => [buildKpiCheck(k, ctx)],
});

export const sections = [
  datasetSection,
  modelSection,
  jobSection,
  servingSection,
  kpiSection,
  querySection,
] as const;
