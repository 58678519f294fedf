/**
 * The kinds of bench/duckdb-data-kinds.ts, one entry each: the files it writes, the mlwatch config that makes
 * its check on DuckDB over them, what the pandas peer reads and computes (bench/pandas-peer.py, "data" file
 * kinds), the series the check must export for the peer's values, and where the same check's PostgreSQL figures
 * are saved. Here the interface and the dataset scan and duplicates; bench/duckdb-drift-defs.ts has drift (PSI)
 * and exact KS, bench/duckdb-system-defs.ts labels, job, serving and the KPI.
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

export const csv = (dir: string, name: string) => `${dir}${name}.csv`;
export const DATASET = { dataset: 'events' };
// The oldest event is 50 minutes old at the write: ten minutes before one leaves the 1h window.
export const EVENTS_HOLD_S = 590;

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

export const DATASET_KINDS: DataKind[] = [scan, duplicates];
