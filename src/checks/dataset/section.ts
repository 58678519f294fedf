import { z } from 'zod';
import { uniqueNames } from '../../config/types.js';
import { incrementalOptions, incrementalSpec } from '../buckets/config.js';
import { scheduleOf, subjectEntry, tableName } from '../config-fields.js';
import type { BuildContext, Check } from '../types.js';
import { datasetContext } from './context.js';
import { buildDriftChecks, driftSpec } from './drift.js';
import { buildDuplicatesCheck, duplicatesSpec } from './duplicates.js';
import { buildScanCheck, freshnessSpec, nullsSpec, validitySpec, volumeSpec, windowedSpans } from './scan.js';
import { buildIncrementalScanCheck } from './scan-incremental.js';
import { buildSchemaCheck, schemaSpec } from './schema.js';

/**
 * The `datasets` section: a table with a timestamp column and the checks to run on it. Each key under
 * `checks` is a check kind; freshness, volume, nulls and validity share one scan of the table.
 */

const checks = z
  .strictObject({
    freshness: freshnessSpec.optional(),
    volume: volumeSpec.optional(),
    nulls: nullsSpec.optional(),
    validity: validitySpec.optional(),
    duplicates: duplicatesSpec.optional(),
    schema: schemaSpec.optional(),
    drift: driftSpec.optional(),
  })
  .refine((c) => Object.values(c).some((v) => v !== undefined), {
    error: 'name at least one check: freshness, volume, nulls, validity, duplicates, schema or drift',
  });

export const datasetEntry = subjectEntry('dataset', {
  table: tableName,
  timestamp: z.string({ error: 'expected the name of the timestamp column' }).min(1),
  checks,
  // Optional: keep the scan's counts (volume, nulls, validity, the newest row) per time bucket so a run reads
  // only what arrived since the last one (scan-incremental.ts, docs/architecture.md "Incremental checks").
  // Every count is exact at every run; the full scan reconciles them daily by default.
  incremental: incrementalSpec(86_400_000).optional(),
});

export type DatasetEntry = z.output<typeof datasetEntry>;

export function validateDatasets(entries: DatasetEntry[], ctx: z.RefinementCtx): void {
  uniqueNames(entries, 'datasets', 'dataset', ctx);
}

export function buildDatasetChecks(d: DatasetEntry, ctx: BuildContext): Check[] {
  const schedule = scheduleOf(d, ctx.defaultIntervalMs);
  const ds = datasetContext(d, schedule, d.timeout ?? ctx.defaultTimeoutMs, ctx.dialect);
  const c = d.checks;
  const out: Check[] = [];
  if (c.freshness || c.volume || c.nulls || c.validity) {
    const specs = { freshness: c.freshness, volume: c.volume, nulls: c.nulls, validity: c.validity };
    // Freshness alone reads no window: nothing to keep.
    out.push(
      d.incremental !== undefined && windowedSpans(specs).length > 0
        ? buildIncrementalScanCheck(ds, specs, incrementalOptions(d.incremental))
        : buildScanCheck(ds, specs),
    );
  }
  if (c.duplicates) out.push(buildDuplicatesCheck(ds, c.duplicates));
  if (c.schema) out.push(...buildSchemaCheck(ds, c.schema, ctx.baseDir, ctx.configFile));
  if (c.drift) {
    const incremental = d.incremental === undefined ? undefined : incrementalOptions(d.incremental);
    out.push(...buildDriftChecks(ds, c.drift, { incremental }));
  }
  return out;
}
