import type { CatalogTable } from './catalog.js';

/** One proposed entry of a config section, with what it is about. */
export interface Proposed {
  /** The entry as mlwatch.yaml holds it (before validation). */
  entry: Record<string, unknown>;
  /** Written as a comment above the entry: what it watches and what to adjust. */
  note: string;
  /** The tables it reads; a table a model, job or service reads is not proposed as a dataset too. */
  tables: CatalogTable[];
}

/** What `mlwatch init` proposes, section by section, and the remarks printed with it. */
export interface Proposal {
  datasets: Proposed[];
  models: Proposed[];
  jobs: Proposed[];
  serving: Proposed[];
  kpis: Proposed[];
  /** Tables looked at and left out, and why; printed, and written at the end of the file. */
  notes: string[];
}

export const SECTIONS = ['datasets', 'models', 'jobs', 'serving', 'kpis'] as const;
export type SectionKey = (typeof SECTIONS)[number];
