import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreCheckMemory } from '../src/actions/store/check-memory.js';
import { incrementalOptions } from '../src/checks/buckets/config.js';
import { datasetContext } from '../src/checks/dataset/context.js';
import { buildDriftChecks } from '../src/checks/dataset/drift.js';
import { datasetEntry } from '../src/checks/dataset/section.js';
import type { Check, CheckResult } from '../src/checks/types.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import {
  checkOf,
  cutsRead,
  expectSameValues,
  openMemory,
  runBoth,
  stamp,
  values,
} from './helpers/incremental.js';
import { seededRandom } from './helpers/model-tables.js';

// A dataset's scan with `incremental` set against the same scan without, on one snapshot, on the real clock
// (windows of seconds, buckets of one second): rows arrive stamped up to 250 ms before they are written (inside
// the settle period), with NULLs in every column and values out of range; a reload, a restart from the state
// store and one without. Then what the kept counts cannot see until the full scan reconciles them (a row stamped
// later than the settle period), a column added under `nulls: all`, and a table whose newest row is older than
// every window.

const RECONCILED = 'mlwatch_dataset_reconciled_timestamp_seconds';
const RECOMPUTED = 'mlwatch_dataset_recomputed_timestamp_seconds';
const { rand, pick } = seededRandom(31);
let db: TestDb;
let memory: StoreCheckMemory;
let closeMemory: () => Promise<void>;

/**
 * Dataset `events` over `table` with `checks` (YAML, indented under `checks:`), and with `fullInterval` given,
 * incremental in buckets of 1 s, settling 300 ms.
 */
const datasetConfig = (table: string, checks: string, fullInterval?: string) => `warehouse:
  url: ${db.configUrl}
datasets:
  - name: events
    table: ${db.schema}.${table}
    timestamp: ts
    checks:
${checks}
${fullInterval ? `    incremental: { bucket: 1s, settle: 300ms, full_interval: ${fullInterval} }\n` : ''}`;

/** The windows 4 s (volume: 8 s with the one before), 12 s (nulls, validity); with `long`, 30 s each. */
const config = (table: string, incremental: boolean, fullInterval: string, long: boolean) =>
  datasetConfig(
    table,
    `      freshness: {}
      volume: { window: ${long ? '30s' : '4s'} }
      nulls: { columns: all, window: ${long ? '30s' : '12s'} }
      validity:
        window: ${long ? '30s' : '12s'}
        columns: { amount: { min: 0, max: 100 }, status: { allowed: [ok, late] } }`,
    incremental ? fullInterval : undefined,
  );

const check = (
  table: string,
  incremental = true,
  remember = true,
  fullInterval = '2s',
  long = false,
): Check => {
  const c = checkOf(config(table, incremental, fullInterval, long), 'dataset:events:scan');
  if (remember) c.remember?.(memory);
  return c;
};

/** 10 to 30 rows stamped 0 to 250 ms ago: NULLs in every column but ts, amounts and statuses out of range. */
async function arrive(table: string, spread = false): Promise<void> {
  const rows: string[] = [];
  for (let i = 0, n = 10 + Math.floor(rand() * 20); i < n; i++) {
    // Spread: mostly distinct amounts, so every new reference has bins of its own.
    const value = spread ? String(Math.round(rand() * 10_000) / 100) : String(Math.round(rand() * 100));
    const amount = pick(['NULL', '-5', '150', value, value, '42', '7']);
    const status = pick(["'ok'", "'late'", "'bad'", 'NULL', "'ok'"]);
    const note = rand() < 0.5 ? 'NULL' : "'n'";
    rows.push(`(now() - interval '${Math.floor(rand() * 250)} milliseconds', ${amount}, ${status}, ${note})`);
  }
  await db.writer.query(
    `INSERT INTO ${db.schema}.${table} (ts, amount, status, note) VALUES ${rows.join(', ')}`,
  );
}

/** How the incremental scan's statement for the table's newest row starts (scan-incremental.ts, newestRow). */
const NEWEST_OF_TABLE = 'SELECT extract(epoch FROM max(';
const KEPT = 'mlwatch_dataset_kept_buckets';
const own = (r: CheckResult) => values(r, (n) => n !== RECONCILED && n !== RECOMPUTED && n !== KEPT);
const rowsIn = (r: CheckResult) => r.samples.find((s) => s.name === 'mlwatch_dataset_rows')?.value;

beforeAll(async () => {
  db = await openTestDb();
  for (const table of ['ev', 'late', 'cols', 'old', 'drift'])
    await db.writer.exec(
      `CREATE TABLE ${db.schema}.${table} (ts timestamptz, amount float8, status text, note text)`,
    );
  ({ memory, close: closeMemory } = await openMemory(db, 'dmemory'));
}, 60_000);
afterAll(async () => {
  await closeMemory?.();
  await db?.close();
});

describe('incremental dataset scan: equal to the full scan', () => {
  it('every round, over sliding windows, a reload and restarts; reading only what changed', async () => {
    const full = check('ev', false, false);
    let inc = check('ev');
    let reconciledRounds = 0;
    let lastReconciled: number | undefined;
    let coldCuts = 0;
    let warmCuts = 0;
    const seen = new Set<string>();
    for (let round = 0; round < 14; round++) {
      if (round === 5) {
        const reloaded = check('ev');
        reloaded.adopt?.(inc);
        inc = reloaded;
      }
      if (round === 9) inc = check('ev');
      if (round === 11) inc = check('ev', true, false);
      await arrive('ev');
      const statements: string[] = [];
      const r = await runBoth(db, inc, full, statements);
      expectSameValues(own(r.inc), own(r.full), round);
      expect(r.inc.skipped, `round ${round}`).toEqual(r.full.skipped);
      // The newest row from the parts read and kept: the table's own newest is read only when no part has one.
      expect(
        statements.filter((s) => s.startsWith(NEWEST_OF_TABLE)),
        `round ${round}`,
      ).toEqual([]);
      for (const s of r.inc.samples) if (s.value !== 0) seen.add(`${s.name}${s.labels.column ?? ''}`);
      const reconciled = stamp(r.inc, RECONCILED);
      // Every full scan agreed: the last one's time is the last agreement's.
      expect(reconciled, `round ${round}`).toBe(stamp(r.inc, RECOMPUTED));
      if (reconciled !== lastReconciled) reconciledRounds++;
      else if (round !== 9) warmCuts = Math.max(warmCuts, cutsRead(statements));
      lastReconciled = reconciled;
      if (round === 0) coldCuts = cutsRead(statements);
      // Restarted from the store: the buckets saved by the run before, not every bucket of the widest window.
      if (round === 9) expect(cutsRead(statements)).toBeLessThan(coldCuts);
      await sleep(350);
    }
    // The full scan ran and agreed at least on the first round, on the restart without the store, and between.
    expect(reconciledRounds).toBeGreaterThanOrEqual(3);
    // Cold: the 11 or 12 buckets of the 12 s span and the parts split at 4 and 8 s ago (15 seen). Warm, whatever
    // the windows' length: the parts each window's start splits (1 at the 12 s start, 2 at each other), the head
    // (2 parts when it crosses a boundary) and the buckets completed since the last run (6 to 9 seen).
    expect(coldCuts).toBeGreaterThanOrEqual(14);
    expect(warmCuts).toBeGreaterThan(0);
    expect(warmCuts).toBeLessThanOrEqual(9);
    // The data covered what it should: NULLs in each column, values out of range in both validity columns.
    for (const name of [
      'mlwatch_dataset_null_ratioamount',
      'mlwatch_dataset_null_rationote',
      'mlwatch_dataset_invalid_ratioamount',
      'mlwatch_dataset_invalid_ratiostatus',
      'mlwatch_dataset_rows_baseline',
    ])
      expect([...seen]).toContain(name);
  }, 60_000);

  it('misses a row stamped later than settle until the full scan, which reconciles the buckets', async () => {
    // Windows of 30 s: the late row's bucket stays whole (no window starts inside it) until the full scan.
    const full = check('late', false, false, '3s', true);
    const inc = check('late', true, false, '3s', true);
    for (let i = 0; i < 4; i++) {
      await arrive('late');
      await sleep(300);
      await runBoth(db, inc, full);
    }
    // 1.8 s old, right after a run: its bucket ended 0.8 s ago or more, so that run found it complete, counted
    // it and kept it.
    await db.writer.exec(
      `INSERT INTO ${db.schema}.late (ts, amount, status) VALUES (now() - interval '1800 milliseconds', 1, 'ok')`,
    );
    const missed = await runBoth(db, inc, full);
    const before = stamp(missed.inc, RECONCILED);
    expect(rowsIn(missed.inc)).toBe((rowsIn(missed.full) as number) - 1);
    // The next full scan: its values are exported, and the buckets, which disagreed, are dropped.
    await sleep(3100);
    const recon = await runBoth(db, inc, full);
    expectSameValues(own(recon.inc), own(recon.full));
    expect(stamp(recon.inc, RECONCILED)).toBe(before);
    // Dropped: none kept until the next run counts them again.
    expect(stamp(missed.inc, KEPT)).toBeGreaterThan(0);
    expect(stamp(recon.inc, KEPT)).toBe(0);
    // The full scan's time moved past the last agreement: what MlwatchDatasetIncrementalMismatch reads.
    expect(stamp(recon.inc, RECOMPUTED) as number).toBeGreaterThan(before as number);
    // Counted again from the table: equal without waiting for another full scan.
    const after = await runBoth(db, inc, full);
    expectSameValues(own(after.inc), own(after.full));
    expect(stamp(after.inc, RECONCILED)).toBe(before);
    expect(stamp(after.inc, KEPT)).toBeGreaterThan(0);
  }, 30_000);

  it('counts afresh when `nulls: all` finds another set of columns', async () => {
    const full = check('cols', false, false);
    const inc = check('cols', true, false);
    await arrive('cols');
    await runBoth(db, inc, full);
    await db.writer.exec(`ALTER TABLE ${db.schema}.cols ADD COLUMN extra text`);
    await arrive('cols');
    const r = await runBoth(db, inc, full);
    expectSameValues(own(r.inc), own(r.full));
    expect([...own(r.inc).keys()].some((k) => k.includes('"column":"extra"'))).toBe(true);
  }, 30_000);

  it('reads the newest row outside every window as the full scan does', async () => {
    await db.writer.exec(
      `INSERT INTO ${db.schema}.old (ts, amount) VALUES (now() - interval '1 minute', 1), (now() - interval '2 minutes', 2)`,
    );
    const inc = check('old', true, false);
    const full = check('old', false, false);
    await runBoth(db, inc, full);
    // The second run merges its parts (the first is a full scan): none holds a row, so it reads the table's newest.
    const statements: string[] = [];
    const r = await runBoth(db, inc, full, statements);
    expect(statements.filter((s) => s.startsWith(NEWEST_OF_TABLE))).toHaveLength(1);
    expect(stamp(r.inc, RECONCILED)).toBeDefined();
    expectSameValues(own(r.inc), own(r.full));
    const age = r.inc.samples.find((s) => s.name === 'mlwatch_dataset_newest_row_age_seconds')
      ?.value as number;
    expect(age).toBeGreaterThanOrEqual(60);
  }, 30_000);
});

/**
 * The drift check of dataset `events` over table `drift`, as the dataset section builds it but on a logical clock
 * both sides share: the current window 6 s, the reference the 4 s before it, binned again once the clock moved
 * reference_interval (3 s) on. On the real clock the two runs of a round lie a few milliseconds apart and could
 * fall on either side of the interval, binning with different edges.
 */
let tick = 0;
const driftCheck = (incremental: boolean): Check => {
  const entry = datasetEntry.parse({
    name: 'events',
    table: `${db.schema}.drift`,
    timestamp: 'ts',
    checks: {
      drift: {
        features: ['amount', 'status'],
        current: '6s',
        reference: { window: '4s' },
        bins: 5,
        reference_interval: '3s',
      },
    },
    ...(incremental ? { incremental: { bucket: '1s', settle: '300ms', full_interval: '2s' } } : {}),
  });
  const ds = datasetContext(entry, { everyMs: 60_000 }, 20_000);
  const [drift] = buildDriftChecks(ds, entry.checks.drift as NonNullable<typeof entry.checks.drift>, {
    clock: () => tick,
    incremental: entry.incremental && incrementalOptions(entry.incremental),
  });
  return drift as Check;
};

describe('incremental drift bins: equal to the full count', () => {
  it('every round, while a sliding reference moves the bins; reading parts, not the window', async () => {
    const drift = (incremental: boolean, remember: boolean) => {
      const c = driftCheck(incremental);
      expect(c.id).toBe('dataset:events:drift');
      if (remember) c.remember?.(memory);
      return c;
    };
    const full = drift(false, false);
    let inc = drift(true, true);
    let kept = 0;
    let recounted = 0;
    for (let round = 0; round < 24; round++) {
      if (round === 12) inc = drift(true, true); // a restart from the store
      await arrive('drift', true);
      const statements: string[] = [];
      const r = await runBoth(db, inc, full, statements);
      expectSameValues(own(r.inc), own(r.full), round);
      expect(r.inc.skipped, `round ${round}`).toEqual(r.full.skipped);
      // A run that merged kept counts read every part apart, none of them the whole window.
      // Bin counts statements: one per part read, and the whole window's when the full count is due.
      const counted = statements.filter((s) => s.startsWith('WITH a AS')).length;
      if (round === 0) expect(counted).toBeGreaterThanOrEqual(7);
      else if (counted <= 4) kept++;
      else recounted++;
      await sleep(350);
      // A round is a second on the reference's clock: bins again every third round, so two runs of three can
      // merge kept counts.
      tick += 1000;
    }
    // The reference holds rows by now: PSI (and JS) of both features, compared above on the last rounds.
    const psi = [...own((await runBoth(db, inc, full)).inc).keys()].filter((k) => k.includes('psi'));
    expect(psi.length).toBe(2);
    // Warm runs (20 to 21 seen) counted the edge, the head and a new bucket (2 to 4 parts, the full count when
    // due); once reference rows arrived, a new reference whose bins moved made its run count every bucket again
    // (2 to 3 seen). The restart read its buckets from the store (a warm run).
    expect(kept).toBeGreaterThanOrEqual(16);
    expect(recounted).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
