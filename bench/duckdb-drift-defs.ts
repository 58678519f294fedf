/**
 * The drift kinds of bench/duckdb-data-kinds.ts (bench/duckdb-data-defs.ts has the interface): the drift check
 * (PSI, Jensen-Shannon distance and sample sizes per feature, its reference bins cached) and the exact KS check,
 * both over data-scan.ts's 10 features of the events file against a 100,000-row reference file.
 */

import { CLOSE, csv, DATASET, type DataKind, EVENTS_HOLD_S, EXACT, seriesOf } from './duckdb-data-defs.js';
import { writeEvents } from './duckdb-data-files.js';
import type { PeerRequest } from './pandas-peer.js';

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
/** Both drift kinds read the same events and reference through the same dataset config. */
const SAME_ROWS = {
  write: writeEvents,
  holdS: EVENTS_HOLD_S,
  files: { events: 'events', reference: 'reference' },
  body: DRIFT_BODY,
};

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
  ...SAME_ROWS,
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
  ...SAME_ROWS,
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

export const DRIFT_KINDS: DataKind[] = [drift, ks];
