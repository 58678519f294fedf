import { z } from 'zod';
import type { CatalogEntry } from '../metrics/family.js';
import { datasetFamilies } from './dataset/families.js';
import { buildDatasetChecks, datasetEntry, validateDatasets } from './dataset/section.js';
import { jobFamilies } from './job/families.js';
import { buildJobChecks, jobEntry, validateJobs } from './job/section.js';
import { kpiFamilies } from './kpi/families.js';
import { buildKpiCheck, kpiEntry, validateKpis } from './kpi/section.js';
import { buildModelChecks, modelEntry, modelSectionFamilies, validateModels } from './model/section.js';
import { buildQueryCheck, queryEntry, validateQueries } from './query.js';
import { servingFamilies } from './serving/families.js';
import { buildServingChecks, servingEntry, validateServing } from './serving/section.js';
import type { BuildContext, Check } from './types.js';

/**
 * The config sections that produce checks. A section names its key in mlwatch.yaml, the zod schema of one
 * list entry, an optional validation across entries, how an entry becomes checks and the metric families
 * those export; the config schema, the loader and the metric catalog are built from `sections`, so a new kind
 * is its folder plus its line in `sections` (or, for the kinds of a dataset or model, a line in that section's
 * own registry: `modelTasks` in model/tasks.ts).
 */
export interface Section<K extends string, E> {
  key: K;
  /** What a value that is not a list is told. */
  listError: string;
  entry: z.ZodType<E, unknown>;
  validateAll?: (entries: E[], ctx: z.RefinementCtx) => void;
  build(entry: E, ctx: BuildContext): Check[];
  /** The metric families its checks export, declared in the kind's folder; the catalog is assembled from these. */
  families: Readonly<Record<string, CatalogEntry>>;
}

function section<const K extends string, E>(s: Section<K, E>): Section<K, E> {
  return s;
}

export const sections = [
  section({
    key: 'datasets',
    listError: 'expected a list of datasets',
    entry: datasetEntry,
    validateAll: validateDatasets,
    build: buildDatasetChecks,
    families: datasetFamilies,
  }),
  section({
    key: 'models',
    listError: 'expected a list of models',
    entry: modelEntry,
    validateAll: validateModels,
    build: buildModelChecks,
    families: modelSectionFamilies,
  }),
  section({
    key: 'jobs',
    listError: 'expected a list of jobs',
    entry: jobEntry,
    validateAll: validateJobs,
    build: buildJobChecks,
    families: jobFamilies,
  }),
  section({
    key: 'serving',
    listError: 'expected a list of services',
    entry: servingEntry,
    validateAll: validateServing,
    build: buildServingChecks,
    families: servingFamilies,
  }),
  section({
    key: 'kpis',
    listError: 'expected a list of KPIs',
    entry: kpiEntry,
    validateAll: validateKpis,
    build: (k, ctx) => [buildKpiCheck(k, ctx)],
    families: kpiFamilies,
  }),
  section({
    key: 'queries',
    listError: 'expected a list of queries',
    entry: queryEntry,
    validateAll: validateQueries,
    build: (q, ctx) => [buildQueryCheck(q, ctx)],
    families: {},
  }),
] as const;

type AnySection = (typeof sections)[number];
type EntryOf<S> = S extends Section<string, infer E> ? E : never;

/** The top-level keys of mlwatch.yaml that hold checks, each a list that defaults to empty. */
export type SectionShapes = {
  [S in AnySection as S['key']]: z.ZodDefault<z.ZodType<EntryOf<S>[], unknown>>;
};

/** The zod shape of every check section, for the config schema. */
export function sectionShapes(): SectionShapes {
  return Object.fromEntries(
    sections.map((s) => [
      s.key,
      z
        .array(s.entry as z.ZodType<unknown, unknown>, { error: s.listError })
        .superRefine((entries, ctx) =>
          (s.validateAll as ((e: unknown[], c: z.RefinementCtx) => void) | undefined)?.(entries, ctx),
        )
        .default([]),
    ]),
  ) as unknown as SectionShapes;
}

/**
 * Every check of a parsed config, section by section in `sections` order. `each` runs one entry's builder and
 * may turn its failure into a config error naming the entry (its key and index).
 */
export function buildSections(
  raw: { [S in AnySection as S['key']]: EntryOf<S>[] },
  ctx: BuildContext,
  each: (key: AnySection['key'], index: number, build: () => Check[]) => Check[],
): Check[] {
  return sections.flatMap((s) => {
    // The union of sections cannot be narrowed per element: each entry is handed to its own section's build.
    const entries = raw[s.key] as unknown[];
    const build = s.build as (e: unknown, c: BuildContext) => Check[];
    return entries.flatMap((e, i) => each(s.key, i, () => build(e, ctx)));
  });
}
