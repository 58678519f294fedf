import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { expect } from 'vitest';
import { StoreCheckMemory } from '../../src/actions/store/check-memory.js';
import { openStateDb, pgliteStateDb, type StateDb } from '../../src/actions/store/db.js';
import { migrate } from '../../src/actions/store/migrations.js';
import type { Check, CheckResult } from '../../src/checks/types.js';
import { loadConfigText } from '../../src/config/load.js';
import type { Queryable } from '../../src/warehouse/types.js';
import type { TestDb } from './db.js';

// What the incremental checks' tests share (test/model-incremental*.test.ts): the check from a config, runs of
// the incremental and the full check on one snapshot, the state store, and the comparison of their values.

/** The check `id` of a config's text. */
export function checkOf(text: string, id: string): Check {
  const check = loadConfigText(text, 'incremental.yaml', {}, '/').checks.find((c) => c.id === id);
  if (check === undefined) throw new Error(`no check ${id}`);
  return check;
}

/** A Queryable that records every statement, to see what a run read. */
function recording(q: Queryable, into: string[]): Queryable {
  return {
    query(sql, params) {
      into.push(sql);
      return q.query(sql, params);
    },
  };
}

/**
 * Runs the incremental and the full check in ONE read-only transaction: the same snapshot and now(); the
 * incremental one's memory is read before and saved after, as the scheduler does.
 */
export async function runBoth(db: TestDb, inc: Check, full: Check, statements: string[] = []) {
  await inc.beforeRun?.();
  const r = await db.warehouse.readOnly({ timeoutMs: 20_000 }, async (q) => ({
    inc: await inc.run(recording(q, statements)),
    full: await full.run(q),
  }));
  await inc.afterRun?.();
  return r;
}

/** A migrated state store on the test database, in a schema of its own: what a restart starts from. */
export async function openMemory(
  db: TestDb,
  suffix: string,
): Promise<{ memory: StoreCheckMemory; schema: string; close(): Promise<void> }> {
  const stateDb: StateDb =
    db.kind === 'pglite'
      ? pgliteStateDb(db.pglite as NonNullable<TestDb['pglite']>, false)
      : openStateDb({ url: db.url as string, applicationName: 'mlwatch-test', connectTimeoutMs: 5000 });
  const schema = `"${db.schema}_${suffix}"`;
  await migrate(stateDb, schema);
  const memory = new StoreCheckMemory({
    db: stateDb,
    schemaSql: schema,
    isReady: () => true,
    log: pino({ level: 'silent' }),
  });
  return {
    memory,
    schema,
    async close() {
      if (db.kind !== 'pg') return;
      await db.writer.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await stateDb.close();
    },
  };
}

/** The incremental checks' own series, which the full checks have no counterpart of. */
export const STAMPS = new Set([
  'mlwatch_model_recomputed_timestamp_seconds',
  'mlwatch_model_reconciled_timestamp_seconds',
  'mlwatch_model_kept_buckets',
]);

/** The samples whose family `keep` accepts, by family and labels. */
export function values(r: CheckResult, keep: (name: string) => boolean): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of r.samples) if (keep(s.name)) out.set(`${s.name}${JSON.stringify(s.labels)}`, s.value);
  return out;
}

/** The same series, each value equal within 1e-9 (relative above 1); `round` names the failing round. */
export function expectSameValues(actual: Map<string, number>, expected: Map<string, number>, round?: number) {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [key, v] of expected) {
    const a = actual.get(key) as number;
    expect(Math.abs(a - v), `round ${round} ${key}: ${a} vs ${v}`).toBeLessThanOrEqual(
      1e-9 * Math.max(1, Math.abs(v)),
    );
  }
}

export function stamp(r: CheckResult, name: string): number | undefined {
  return r.samples.find((s) => s.name === name)?.value;
}

/** The starts of the parts a run summed (fresh parts and new buckets): the ARRAY of each parts statement. */
export function cutsRead(statements: string[]): number {
  let n = 0;
  for (const sql of statements) {
    const array = /width_bucket\([^,]*, \(SELECT ARRAY\[([^\]]*)\]/.exec(sql)?.[1];
    if (array !== undefined) n += array.split(',').length;
  }
  return n;
}

export interface RoundsOptions {
  /** The model's performance check: incremental or not, remembering the state store or not. */
  check(incremental: boolean, remember: boolean): Check;
  /** A round's arrivals: new predictions and labels. */
  arrive(): Promise<void>;
  /** The families exported as of the last full run (a classifier's AUCs); none for a regression model. */
  asOfFull?: ReadonlySet<string>;
  /** The skip reasons those families give, which the full check's current values need not share. */
  asOfFullSkips?: readonly string[];
}

/**
 * 14 rounds of arrivals, each followed by a run of the incremental check and of the full one in one snapshot
 * (runBoth), with a reload that keeps the buckets (round 5), a restart from the state store (9) and one
 * without (11). Every round, every metric but the `asOfFull` ones equals the full check's; on a round where the
 * incremental check ran its full statement, everything does and the kept sums agreed with it; between full runs
 * the `asOfFull` values stay as of the last one (and some are exported there). Also what each run read (cutsRead): cold, every bucket of the
 * widest window; warm, the fresh parts and a bucket or two; restarted from the store, less than cold. The
 * windows are seconds and the buckets one second (the caller's config). Returns each family seen with a value
 * other than 0, with its version label appended.
 */
export async function roundsAgainstFull(db: TestDb, o: RoundsOptions): Promise<Set<string>> {
  const asOfFull = o.asOfFull ?? new Set<string>();
  // Skips only the as-of-full families cause: the full check's current AUCs are not the exported ones.
  const asOfFullSkips = new Set(o.asOfFullSkips ?? ['awaiting_recompute', 'one_class']);
  const ownSkips = (r: CheckResult) =>
    Object.fromEntries(
      Object.entries(r.skipped).filter(([why]) => asOfFull.size === 0 || !asOfFullSkips.has(why)),
    );
  const full = o.check(false, false);
  let inc = o.check(true, true);
  let lastRecomputed: number | undefined;
  let lastFull = new Map<string, number>();
  let fullRounds = 0;
  // The as-of-full series exported between full runs: a check that skipped them all would pass the rest.
  let keptAsOfFull = 0;
  let warmCuts = 0;
  let coldCuts = 0;
  const seen = new Set<string>();
  for (let round = 0; round < 14; round++) {
    if (round === 5) {
      const reloaded = o.check(true, true);
      reloaded.adopt?.(inc);
      inc = reloaded;
    }
    if (round === 9) inc = o.check(true, true);
    if (round === 11) inc = o.check(true, false);
    await o.arrive();
    const statements: string[] = [];
    const r = await runBoth(db, inc, full, statements);
    expectSameValues(
      values(r.inc, (n) => !asOfFull.has(n) && !STAMPS.has(n)),
      values(r.full, (n) => !asOfFull.has(n)),
      round,
    );
    expect(ownSkips(r.inc), `round ${round}`).toEqual(ownSkips(r.full));
    for (const s of r.inc.samples) if (s.value !== 0) seen.add(`${s.name}${s.labels.version ?? ''}`);
    // Every full run agrees here, so the buckets summed on the first run stay kept (empty ones included).
    expect(stamp(r.inc, 'mlwatch_model_kept_buckets'), `round ${round}`).toBeGreaterThan(0);
    const recomputed = stamp(r.inc, 'mlwatch_model_recomputed_timestamp_seconds');
    if (recomputed !== lastRecomputed) {
      // A full run: everything equal, and the kept sums agreed with it, changed labels and all.
      fullRounds++;
      expectSameValues(
        values(r.inc, (n) => !STAMPS.has(n)),
        values(r.full, () => true),
        round,
      );
      expect(r.inc.skipped, `round ${round}`).toEqual(r.full.skipped);
      expect(stamp(r.inc, 'mlwatch_model_reconciled_timestamp_seconds'), `round ${round}`).toBe(recomputed);
      lastFull = values(r.full, (n) => asOfFull.has(n));
      lastRecomputed = recomputed;
    } else {
      const kept = values(r.inc, (n) => asOfFull.has(n));
      expectSameValues(kept, new Map([...lastFull].filter(([k]) => kept.has(k))), round);
      keptAsOfFull += kept.size;
      if (round > 1 && round !== 9 && round !== 11) warmCuts = Math.max(warmCuts, cutsRead(statements));
    }
    if (round === 0) coldCuts = cutsRead(statements);
    if (round === 11) expect(cutsRead(statements)).toBeGreaterThanOrEqual(6);
    if (round === 9) expect(cutsRead(statements)).toBeLessThan(coldCuts);
    await sleep(350);
  }
  expect(fullRounds).toBeGreaterThanOrEqual(3);
  if (asOfFull.size > 0) expect(keptAsOfFull).toBeGreaterThan(0);
  expect(coldCuts).toBeGreaterThanOrEqual(6);
  expect(warmCuts).toBeGreaterThan(0);
  expect(warmCuts).toBeLessThanOrEqual(6);
  return seen;
}

/** Every family in `names` was seen with a value other than 0 (roundsAgainstFull's answer): the data covered it. */
export function expectSeen(seen: ReadonlySet<string>, names: readonly string[]): void {
  for (const name of names)
    expect(
      [...seen].some((k) => k.startsWith(name)),
      name,
    ).toBe(true);
}
