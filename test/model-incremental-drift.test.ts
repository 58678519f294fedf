import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreCheckMemory } from '../src/actions/store/check-memory.js';
import { incrementalOptions } from '../src/checks/buckets/config.js';
import { modelContext } from '../src/checks/model/context.js';
import { buildPredictionDriftCheck } from '../src/checks/model/prediction-drift.js';
import { modelEntry } from '../src/checks/model/section.js';
import type { Check } from '../src/checks/types.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import {
  cutsRead,
  expectSameValues,
  openMemory,
  runBoth,
  STAMPS,
  stamp,
  values,
} from './helpers/incremental.js';
import { seededRandom } from './helpers/model-tables.js';

// A model's prediction-drift check with `incremental` set against the same check without, on one snapshot, on
// the real clock (windows of seconds, buckets of one second): predictions arrive stamped up to 250 ms before
// they are written (inside the settle period), some NULL or NaN, on values spread so that the sliding reference
// ([now() - 6 s, now() - 2 s), binned again every third round) moves its edges on every recomputation; a reload
// that keeps the buckets, a restart from the state store and one without. Every round, the PSI of both windows
// (or the skip) equals the full check's, and the kept counts agreed with every full count. The windows, the
// buckets and the full counts run on the warehouse's clock; only the reference's cache ages on the test's.

const { rand } = seededRandom(43);
const PSI = 'mlwatch_model_prediction_psi';
const RECOMPUTED = 'mlwatch_model_recomputed_timestamp_seconds';
const RECONCILED = 'mlwatch_model_reconciled_timestamp_seconds';
let db: TestDb;
let memory: StoreCheckMemory;
let closeMemory: () => Promise<void>;

/**
 * The check as the model section builds it, but on a logical clock shared by both sides: each caches its
 * reference from its first run and recomputes it once the clock moved reference_interval (3 s) on, so the
 * incremental and the full check always bin with the same edges (on the real clock, the two runs of a round
 * lie a few milliseconds apart and could fall on either side of the interval).
 */
let tick = 0;
const check = (incremental: boolean, remember: boolean): Check => {
  const entry = modelEntry.parse({
    name: 'price',
    task: 'regression',
    owner: 'data-science',
    windows: ['6s', '2500ms'],
    predictions: {
      table: `${db.schema}.d_preds`,
      key: 'request_id',
      timestamp: 'predicted_at',
      prediction: 'value',
    },
    labels: { table: `${db.schema}.d_labels`, key: 'request_id', timestamp: 'labeled_at', label: 'actual' },
    reference: { window: '4s', offset: '2s' },
    ...(incremental ? { incremental: { bucket: '1s', settle: '300ms', full_interval: '2s' } } : {}),
  });
  const c = buildPredictionDriftCheck(
    modelContext(entry, { everyMs: 60_000 }, 20_000),
    entry.reference as NonNullable<typeof entry.reference>,
    {
      intervalMs: 3000,
      clock: () => tick,
      incremental: entry.incremental && incrementalOptions(entry.incremental),
    },
  );
  if (remember) c.remember?.(memory);
  return c;
};

let keys = 0;
/** 10 to 30 predictions stamped 0 to 250 ms ago: mostly distinct values, a few NULL or NaN, later ones higher. */
async function arrive(round: number): Promise<void> {
  const rows: string[] = [];
  for (let i = 0, n = 10 + Math.floor(rand() * 20); i < n; i++) {
    const r = rand();
    const value =
      r < 0.04 ? 'NULL' : r < 0.08 ? "'NaN'" : String(Math.round((rand() + round / 20) * 1e4) / 100);
    rows.push(`('k${keys++}', now() - interval '${Math.floor(rand() * 250)} milliseconds', ${value})`);
  }
  await db.writer.query(
    `INSERT INTO ${db.schema}.d_preds (request_id, predicted_at, value) VALUES ${rows.join(', ')}`,
  );
}

/** The statements that counted the windows' parts (prediction-drift-sql.ts, partsStatement). */
const partsRead = (statements: string[]) => statements.filter((s) => s.includes(' AS part, ')).length;

beforeAll(async () => {
  db = await openTestDb();
  await db.writer.exec(`
    CREATE TABLE ${db.schema}.d_preds (request_id text, predicted_at timestamptz, value float8);
    CREATE TABLE ${db.schema}.d_labels (request_id text, labeled_at timestamptz, actual float8);`);
  ({ memory, close: closeMemory } = await openMemory(db, 'pdmemory'));
}, 60_000);
afterAll(async () => {
  await closeMemory?.();
  await db?.close();
});

describe('incremental prediction drift: equal to the full count', () => {
  it('every round, while the sliding reference moves its edges; a reload and restarts', async () => {
    let full = check(false, false);
    let inc = check(true, true);
    let compared = 0;
    let fullCounts = 0;
    let lastFull: number | undefined;
    let warm = 0;
    let cold = 0;
    for (let round = 0; round < 30; round++) {
      if (round === 8) {
        const reloaded = check(true, true);
        reloaded.adopt?.(inc);
        inc = reloaded;
      }
      if (round === 14) inc = check(true, true); // a restart from the store
      if (round === 19) inc = check(true, false); // a restart without one
      // A new check bins its reference on its first run: a new full check beside it, so both bin alike.
      if (round === 8 || round === 14 || round === 19) full = check(false, false);
      // A round is a second on the reference's clock: bins again every third round, so two runs of three can merge kept buckets.
      tick += 1000;
      await arrive(round);
      const statements: string[] = [];
      const r = await runBoth(db, inc, full, statements);
      const own = values(r.inc, (n) => !STAMPS.has(n));
      expectSameValues(
        own,
        values(r.full, () => true),
        round,
      );
      expect(r.inc.skipped, `round ${round}`).toEqual(r.full.skipped);
      if (own.size > 0) {
        compared++;
        // The parts in one statement: a warm run reads the windows' edges, the head and a new bucket or two; a
        // cold one (new edges, no buckets kept) every bucket of the widest window (6 s: 7 starts or more).
        expect(partsRead(statements), `round ${round}`).toBe(1);
        const starts = cutsRead(statements);
        if (starts <= 5) warm++;
        if (starts >= 7) cold++;
      }
      const recomputed = stamp(r.inc, RECOMPUTED);
      if (recomputed !== undefined && recomputed !== lastFull) fullCounts++;
      lastFull = recomputed;
      // Every full count agreed with the merged counts: the reconciled stamp is the recomputed one.
      expect(stamp(r.inc, RECONCILED), `round ${round}`).toBe(recomputed);
      await sleep(350);
    }
    // The reference holds rows after 2 s: both windows compared on most rounds.
    const last = values((await runBoth(db, inc, full)).inc, (n) => n === PSI);
    expect(last.size).toBe(2);
    // Seen: 24 rounds compared, 5 full counts, 11 (PGlite) to 14 (PostgreSQL) warm runs, 9 cold (the first, new
    // edges every third round, the restarts). With new edges every other round, Node 22 saw 7 warm.
    expect(compared).toBeGreaterThanOrEqual(16);
    expect(fullCounts).toBeGreaterThanOrEqual(3);
    expect(warm).toBeGreaterThanOrEqual(8);
    expect(cold).toBeGreaterThanOrEqual(3);
  }, 90_000);
});
