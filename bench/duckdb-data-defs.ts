/**
 * The kinds of bench/duckdb-data-kinds.ts, one entry each: the files it writes, the mlwatch config that makes
 * its check on DuckDB over them, what the pandas peer reads and computes (bench/pandas-peer.py, "data" file
 * kinds), the series the check must export for the peer's values, and where the same check's PostgreSQL figures
 * are saved. Here the interface and the dataset kinds (scan, duplicates, drift PSI, exact KS);
 * bench/duckdb-system-defs.ts has labels, job, serving and the KPI.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { writeDuplicateEvents, writeEvents } from './duckdb-data-files.js';
import type { PeerRequest } from './pandas-peer.js';
import { kindsOf } from './peer-kinds-defs.js';
import { ROWS, tablesOf } from './peer-kinds-tables.js';
import type { Expected } from './series-compare.js';

export interface DataKind {
  /** Its name on the command line and in the saved figures. */
  id: string;
  name: string;
  /** What the check computes, and on how many rows. */
  what: string;
  /** Writes the kind's Parquet and CSV files into `dir`. */
  write(c: DuckDBConnection, dir: string): Promise<void>;
  /** How long after the write every window keeps its rows: both sides must have read them by then. */
  holdS: number;
  /** The views `files.<name>` of the config: name -> file (without .parquet) in the directory. */
  files: Record<string, string>;
  /** The config after its warehouse and state (datasets:, models:, jobs:, serving: or kpis:). */
  body: string;
  checkId: string;
  peer(dir: string): PeerRequest;
  /** The peer leaves its reference's read out of its time: the check caches its reference, a user would too. */
  cachedReference?: boolean;
  expected(values: Record<string, number>): Expected[];
  /** The families whose every series of `subject` must be expected. */
  families: string[];
  subject: Record<string, string>;
  /** The same check on PostgreSQL: the saved figures (in .bench/) of the bench that runs it, and its peer's. */
  postgres?: {
    file: string;
    from: string;
    check(saved: Saved): number | undefined;
    peer(saved: Saved): number | undefined;
  };
}

// biome-ignore lint/suspicious/noExplicitAny: another bench's saved JSON, read defensively
export type Saved = any;

// Counts exactly; times to a microsecond (timestamps' resolution); everything else to 1e-9 of its size.
export const EXACT = { abs: 0 };
export const MICROSECOND = { abs: 1e-6 };
export const CLOSE = { rel: 1e-9 };

type Family = (parts: string[]) => [string, Record<string, string>, Expected['tolerance']];

/** The peer's values keyed `metric|part|...`, as the check's series (subject's labels added). */
export function seriesOf(
  values: Record<string, number>,
  families: Record<string, Family>,
  subject: Record<string, string>,
): Expected[] {
  return Object.entries(values).map(([key, value]) => {
    const [metric, ...parts] = key.split('|');
    const family = families[metric as string];
    if (!family) throw new Error(`the peer returned ${key}, which no series of the check stands for`);
    const [name, labels, tolerance] = family(parts);
    return { name, labels: { ...subject, ...labels }, value, tolerance };
  });
}

/** The config's warehouse: DuckDB in memory over the kind's Parquet files. */
export const configText = (dir: string, k: DataKind) => `warehouse:
  url: duckdb:memory
  statement_timeout: 120s
  files:
${Object.entries(k.files)
  .map(([view, file]) => `    ${view}: { parquet: ${dir}${file}.parquet }`)
  .join('\n')}
state: { url: pglite:memory }
${k.body}`;

const csv = (dir: string, name: string) => `${dir}${name}.csv`;
const DATASET = { dataset: 'events' };
// The oldest event is 50 minutes old at the write: ten minutes before one leaves the 1h window.
const EVENTS_HOLD_S = 590;

const scan: DataKind = {
  id: 'scan',
  name: 'dataset scan',
  what: 'freshness, volume [1h] and the NULL share of 21 columns, one statement',
  write: writeEvents,
  holdS: EVENTS_HOLD_S,
  files: { events: 'events' },
  body: `datasets:
  - name: events
    table: files.events
    timestamp: ts
    checks:
      freshness: {}
      volume: { window: 1h }
      nulls: { columns: all, window: 1h }
`,
  checkId: 'dataset:events:scan',
  peer: (dir) => ({
    kind: 'scan',
    data: true,
    files: { table: csv(dir, 'events') },
    timestamp: 'ts',
    window_s: 3_600,
  }),
  expected: (v) => {
    // The generator's count too: a peer and a check that agree on a wrong number would pass.
    if (v.rows !== ROWS) throw new Error(`the peer saw ${v.rows} rows in the window, the file has ${ROWS}`);
    return seriesOf(
      v,
      {
        rows: () => ['mlwatch_dataset_rows', { window: '1h' }, EXACT],
        baseline: () => ['mlwatch_dataset_rows_baseline', { window: '1h' }, EXACT],
        newest: () => ['mlwatch_dataset_last_update_timestamp_seconds', {}, MICROSECOND],
        null_ratio: ([column]) => [
          'mlwatch_dataset_null_ratio',
          { column: column as string, window: '1h' },
          CLOSE,
        ],
      },
      DATASET,
    );
  },
  // Not the newest row's age: now() minus the newest timestamp, on each side's own clock.
  families: [
    'mlwatch_dataset_rows',
    'mlwatch_dataset_rows_baseline',
    'mlwatch_dataset_last_update_timestamp_seconds',
    'mlwatch_dataset_null_ratio',
  ],
  subject: DATASET,
  postgres: {
    file: 'data-scan.json',
    from: 'bench/data-scan.ts, part 1',
    check: (j) => j.scan?.scanMs?.median,
    peer: (j) => j.scan?.pandasMs?.median,
  },
};

const peerKinds = Object.fromEntries(kindsOf(tablesOf('files')).map((k) => [k.name, k]));
const dupKind = peerKinds.duplicates as NonNullable<(typeof peerKinds)[string]>;

const duplicates: DataKind = {
  id: 'duplicates',
  name: 'duplicates',
  what: 'duplicated keys, key [id], window 1d',
  write: writeDuplicateEvents,
  // The oldest event is 23 hours old at the write.
  holdS: 3_590,
  files: { events: 'dup_events' },
  body: `datasets:
  - name: events
    table: files.events
    timestamp: ingested_at
    checks:
      duplicates: { key: [id], window: 1d }
`,
  checkId: 'dataset:events:duplicates',
  peer: (dir) => ({
    kind: 'duplicates',
    data: true,
    files: { table: csv(dir, 'dup_events') },
    timestamp: 'ingested_at',
    key: ['id'],
    window_s: 86_400,
  }),
  // bench/peer-kinds.ts's: the generator's count of duplicated ids checked too.
  expected: (v) => dupKind.expected(v),
  families: dupKind.families,
  subject: dupKind.subject,
  postgres: {
    file: 'peer-kinds.json',
    from: 'bench/peer-kinds.ts',
    check: (j) => j.kinds?.find((k: Saved) => k.kind === 'duplicates')?.checkMs?.median,
    peer: (j) => j.kinds?.find((k: Saved) => k.kind === 'duplicates')?.peerMs?.median,
  },
};

// data-scan.ts's drift features: 4 decimal and 3 integer columns (numeric), 3 text columns (categorical).
const NUMERIC = ['amount_1', 'amount_2', 'amount_3', 'amount_4', 'count_1', 'count_2', 'count_3'];
const FEATURES = [...NUMERIC, 'label_1', 'label_2', 'label_3'];
const DRIFT_BODY = `datasets:
  - name: events
    table: files.events
    timestamp: ts
    checks:
      drift:
        features: [${FEATURES.join(', ')}]
        current: 1h
        reference: { table: files.reference }
`;
const driftPeer = (dir: string, kind: 'psi' | 'ks', features: string[]): PeerRequest => ({
  kind,
  data: true,
  files: { table: csv(dir, 'events'), reference: csv(dir, 'reference') },
  timestamp: 'ts',
  window_s: 3_600,
  features,
  numeric: NUMERIC,
  bins: 10,
  max_categories: 50,
});

const drift: DataKind = {
  id: 'drift',
  name: 'drift (PSI, JS)',
  what: `PSI, Jensen-Shannon distance and sample sizes of ${FEATURES.length} features, current 1h against a cached 100,000-row reference`,
  write: writeEvents,
  holdS: EVENTS_HOLD_S,
  files: { events: 'events', reference: 'reference' },
  body: DRIFT_BODY,
  checkId: 'dataset:events:drift',
  peer: (dir) => driftPeer(dir, 'psi', FEATURES),
  cachedReference: true,
  expected: (v) =>
    seriesOf(
      v,
      {
        n_cur: ([feature]) => [
          'mlwatch_feature_sample_rows',
          { feature: feature as string, sample: 'current' },
          EXACT,
        ],
        n_ref: ([feature]) => [
          'mlwatch_feature_sample_rows',
          { feature: feature as string, sample: 'reference' },
          EXACT,
        ],
        psi: ([feature]) => ['mlwatch_feature_psi', { feature: feature as string, window: '1h' }, CLOSE],
        js: ([feature]) => [
          'mlwatch_feature_js_distance',
          { feature: feature as string, window: '1h' },
          CLOSE,
        ],
      },
      DATASET,
    ),
  families: ['mlwatch_feature_sample_rows', 'mlwatch_feature_psi', 'mlwatch_feature_js_distance'],
  subject: DATASET,
  postgres: {
    file: 'data-scan.json',
    from: 'bench/data-scan.ts, part 3 (a reference equal to the window)',
    check: (j) => j.drift?.driftMs?.median,
    peer: (j) => j.drift?.pandasPsiMs?.median,
  },
};

const ks: DataKind = {
  id: 'drift_ks',
  name: 'exact KS',
  what: `the exact two-sample KS statistic of ${NUMERIC.length} numeric features, current 1h against the raw 100,000-row reference`,
  write: writeEvents,
  holdS: EVENTS_HOLD_S,
  files: { events: 'events', reference: 'reference' },
  body: DRIFT_BODY,
  checkId: 'dataset:events:drift_ks',
  peer: (dir) => driftPeer(dir, 'ks', NUMERIC),
  // The peer's keys are the features (scipy.stats.ks_2samp per column).
  expected: (v) =>
    Object.entries(v).map(([feature, value]) => ({
      name: 'mlwatch_feature_ks_statistic',
      labels: { ...DATASET, feature, window: '1h' },
      value,
      tolerance: CLOSE,
    })),
  families: ['mlwatch_feature_ks_statistic'],
  subject: DATASET,
  postgres: {
    file: 'data-scan.json',
    from: 'bench/data-scan.ts, part 3 (a reference equal to the window)',
    check: (j) => j.drift?.ksCheckMs?.median,
    peer: (j) => j.drift?.pandasKsMs?.median,
  },
};

export const DATASET_KINDS: DataKind[] = [scan, duplicates, drift, ks];
