import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MEMORY_PARTS, StoreCheckMemory } from '../src/actions/store/check-memory.js';
import { openStateDb, pgliteStateDb, type StateDb } from '../src/actions/store/db.js';
import { migrate } from '../src/actions/store/migrations.js';
import type { SavedMemory } from '../src/checks/types.js';
import { openTestDb, type TestDb } from './helpers/db.js';

// The state store's check memory (migration 9) on the real store: what a restarted exporter or the other
// replica reads is always one whole save, with every double as it was written.

let db: TestDb;
let stateDb: StateDb;
let schemaSql: string;
let ready = true;
let memory: StoreCheckMemory;

beforeAll(async () => {
  db = await openTestDb();
  stateDb =
    db.kind === 'pglite'
      ? pgliteStateDb(db.pglite as NonNullable<TestDb['pglite']>, false)
      : openStateDb({ url: db.url as string, applicationName: 'mlwatch-test', connectTimeoutMs: 5000 });
  schemaSql = `"${db.schema}_memory"`;
  await migrate(stateDb, schemaSql);
  memory = new StoreCheckMemory({
    db: stateDb,
    schemaSql,
    isReady: () => ready,
    log: pino({ level: 'silent' }),
  });
}, 60_000);
afterAll(async () => {
  if (db?.kind === 'pg') {
    await db.writer.exec(`DROP SCHEMA IF EXISTS ${schemaSql} CASCADE`);
    await stateDb.close();
  }
  await db?.close();
});

const loaded = async (id: string, fingerprint = 'f1', known?: number) =>
  (await memory.load(id, fingerprint, known)) as SavedMemory;

describe('check memory in the state store', () => {
  it('reads back what was saved, bit for bit, and says when nothing changed', async () => {
    // Sums as a run makes them: not representable in decimal, tiny, huge, negative.
    const sums = [0.1 + 0.2, 1 / 3, 5e-324, 1.7976931348623157e308, -2.5e-17, 123456789.12345679];
    const r1 = await memory.save('model:a:performance', 'f1', {
      base: undefined,
      header: { keptMs: 1_796_000_000_123, note: 'x' },
      parts: new Map([
        [10, [['v1', 3, sums]]],
        [11, []],
      ]),
      drop: [],
    });
    expect(r1).toBe(1);
    const back = await loaded('model:a:performance');
    expect(back.revision).toBe(1);
    expect(back.header).toEqual({ keptMs: 1_796_000_000_123, note: 'x' });
    expect([...back.parts.keys()]).toEqual([10, 11]);
    const [row] = back.parts.get(10) as Array<[string, number, number[]]>;
    const read = row?.[2] ?? [];
    for (const [i, x] of sums.entries()) expect(Object.is(read[i], x), `${read[i]} vs ${x}`).toBe(true);
    expect(await memory.load('model:a:performance', 'f1', 1)).toBe('unchanged');
    // Another definition of the check (a changed fingerprint) starts afresh, and nothing of another check leaks.
    expect(await memory.load('model:a:performance', 'f2', undefined)).toBeUndefined();
    expect(await memory.load('model:b:performance', 'f1', undefined)).toBeUndefined();
  });

  it('a save from a known revision writes what changed and drops what it names; a stale one is refused', async () => {
    const id = 'model:c:performance';
    await memory.save(id, 'f1', {
      base: undefined,
      header: { n: 1 },
      parts: new Map([
        [1, 'one'],
        [2, 'two'],
        [3, 'three'],
      ]),
      drop: [],
    });
    const r2 = await memory.save(id, 'f1', {
      base: 1,
      header: { n: 2 },
      parts: new Map([[4, 'four']]),
      drop: [2],
    });
    expect(r2).toBe(2);
    const back = await loaded(id);
    expect(back.header).toEqual({ n: 2 });
    expect([...back.parts]).toEqual([
      [1, 'one'],
      [3, 'three'],
      [4, 'four'],
    ]);
    // Another replica still at revision 1: refused, and nothing it sent was written.
    expect(
      await memory.save(id, 'f1', { base: 1, header: { n: 9 }, parts: new Map([[1, 'ONE']]), drop: [3] }),
    ).toBe('conflict');
    expect((await loaded(id)).parts.get(1)).toBe('one');
    expect((await loaded(id)).parts.get(3)).toBe('three');
    // A save without a base rewrites every part, whatever was there.
    expect(
      await memory.save(id, 'f1', {
        base: undefined,
        header: { n: 3 },
        parts: new Map([[7, 'seven']]),
        drop: [],
      }),
    ).toBe(3);
    expect([...(await loaded(id)).parts]).toEqual([[7, 'seven']]);
    // So does a save of another definition, which a load of the old one no longer sees.
    await memory.save(id, 'f2', { base: undefined, header: {}, parts: new Map([[8, 'eight']]), drop: [] });
    expect(await memory.load(id, 'f1', undefined)).toBeUndefined();
    expect([...(await loaded(id, 'f2')).parts]).toEqual([[8, 'eight']]);
  });

  it('refuses to work before the store is migrated and ready, and bounds what a check may keep', async () => {
    ready = false;
    await expect(memory.load('model:a:performance', 'f1', undefined)).rejects.toThrow(/not ready/);
    ready = true;
    const many = new Map(Array.from({ length: MAX_MEMORY_PARTS + 1 }, (_, i) => [i, 0] as [number, unknown]));
    await expect(
      memory.save('model:d:performance', 'f1', { base: undefined, header: {}, parts: many, drop: [] }),
    ).rejects.toThrow(/more than 10000/);
    expect(await memory.load('model:d:performance', 'f1', undefined)).toBeUndefined();
  });
});
