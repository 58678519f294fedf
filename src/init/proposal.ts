import type { CatalogTable } from './catalog.js';
import type { Chooser } from './choose.js';
import { proposeDatasets, proposeKpis } from './datasets.js';
import type { Inspected } from './inspect.js';
import { proposeJobs } from './jobs.js';
import { datasetOf, idColumns } from './links.js';
import { type ModelFlags, proposeModels } from './models.js';
import { NameSet } from './names.js';
import { proposeServing } from './serving.js';
import { sameTable } from './tables.js';
import type { Proposal } from './types.js';

/**
 * The proposal from what was read: models first (their tables are the most specific), then jobs and services;
 * every table none of them reads and that has a timestamp is a dataset, and its boolean columns KPIs. Models
 * and KPIs are then linked to the dataset their key points at.
 */
export async function propose(found: Inspected, flags: ModelFlags, chooser: Chooser): Promise<Proposal> {
  const claimed: CatalogTable[] = [];
  const free = (t: CatalogTable) => !claimed.some((c) => sameTable(c, t));
  const claim = <T extends { tables: CatalogTable[] }>(items: T[]): T[] => {
    for (const i of items) claimed.push(...i.tables);
    return items;
  };

  const { models, notes } = await proposeModels(found.tables, flags, chooser, new NameSet());
  claim(models);
  const jobs = claim(
    proposeJobs(
      found.jobs.filter((j) => free(j.shape.table)),
      new NameSet(),
    ),
  );
  const serving = claim(proposeServing(found.tables.filter(free), new NameSet()));
  const datasets = proposeDatasets(found.tables.filter(free), new NameSet(), notes);
  const kpis = proposeKpis(datasets, new NameSet(), notes);

  for (const m of models) {
    const dataset = datasetOf(m.key, datasets);
    if (dataset !== undefined) m.entry = withAfter(m.entry, 'owner', { dataset });
  }
  for (const k of kpis) {
    const table = k.tables[0] as CatalogTable;
    const linked = idColumns(table)
      .map((key) => datasetOf(key, datasets, table))
      .filter((d): d is string => d !== undefined);
    if (linked.length === 1) k.entry = { ...k.entry, dataset: linked[0] };
  }
  if (found.tables.length === 0) notes.push('no table or view the role can read was found');
  return { datasets, models, jobs, serving, kpis, notes };
}

/** `entry` with `more` inserted after `key`, so the file reads in the order of mlwatch.example.yaml. */
function withAfter(entry: Record<string, unknown>, key: string, more: Record<string, unknown>) {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry)) {
    out[k] = v;
    if (k === key) Object.assign(out, more);
  }
  return out;
}
