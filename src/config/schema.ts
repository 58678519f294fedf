import { z } from 'zod';
import { datasetSection, modelSection, querySection } from '../checks/registry.js';
import { duration } from './types.js';

/**
 * The one source of truth for mlwatch.yaml. Every object is strict: an unknown key is an error, with a
 * suggestion when it looks like a typo of a known one.
 */

const warehouse = z.strictObject({
  url: z
    .string({ error: 'expected the warehouse URL, e.g. postgresql://user@host:5432/db or pglite:memory' })
    .regex(/^(postgres|postgresql|pglite):/, {
      error:
        'the URL must start with postgresql:// (or postgres://) for a server, or pglite: for the embedded engine',
    }),
  password: z.string().optional(),
  password_file: z.string({ error: 'expected the path of a file that holds the password' }).optional(),
  statement_timeout: duration('a timeout').default(30_000),
  connect_timeout: duration('a timeout').default(10_000),
  pool: z
    .int({ error: 'expected a whole number of connections' })
    .min(1, { error: 'the pool needs at least 1 connection' })
    .max(100, { error: 'at most 100 connections; checks are aggregates, a handful is plenty' })
    .default(4),
  application_name: z.string().min(1).default('mlwatch'),
});

const defaults = z
  .strictObject({
    interval: duration('an interval').default(60_000),
    jitter: z
      .number({ error: 'expected a fraction of the interval between 0 and 1, e.g. 0.1' })
      .min(0, { error: 'jitter is a fraction between 0 and 1' })
      .max(1, { error: 'jitter is a fraction between 0 and 1' })
      .default(0.1),
  })
  .prefault({});

// Sections that later versions fill through the check registry. Until a section's check kinds exist, it
// accepts only an empty list, so a config written for a newer mlwatch fails loudly instead of silently.
const notYet = (section: string) =>
  z
    .array(z.unknown(), { error: `expected a list of ${section}` })
    .max(0, { error: `the ${section} section is not supported by this version of mlwatch yet; remove it` })
    .default([]);

const datasets = z
  .array(datasetSection.entry, { error: 'expected a list of datasets' })
  .superRefine((entries, ctx) => datasetSection.validateAll?.(entries, ctx))
  .default([]);

const models = z
  .array(modelSection.entry, { error: 'expected a list of models' })
  .superRefine((entries, ctx) => modelSection.validateAll?.(entries, ctx))
  .default([]);

const queries = z
  .array(querySection.entry, { error: 'expected a list of queries' })
  .superRefine((entries, ctx) => querySection.validateAll?.(entries, ctx))
  .default([]);

export const configSchema = z.strictObject({
  warehouse,
  defaults,
  datasets,
  models,
  jobs: notYet('jobs'),
  serving: notYet('serving'),
  kpis: notYet('kpis'),
  queries,
});

export type RawConfig = z.output<typeof configSchema>;
