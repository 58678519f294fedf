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

export const STAMPS = new Set([
  'mlwatch_model_recomputed_timestamp_seconds',
  'mlwatch_model_reconciled_timestamp_seconds',
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
    const array = /width_bucket\([^,]*, ARRAY\[([^\]]*)\]/.exec(sql)?.[1];
    if (array !== undefined) n += array.split(',').length;
  }
  return n;
}
