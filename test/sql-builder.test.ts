import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlBuilder } from '../src/sql/builder.js';
import { openTestDb, type TestDb } from './helpers/db.js';

describe('the SQL builder', () => {
  it('numbers placeholders in the order values are bound, and binds each window length once', () => {
    const p = new SqlBuilder();
    expect(p.add(0.5, 'float8')).toBe('$1::float8');
    expect(p.ago(3_600_000)).toBe('now() - $2::interval');
    expect(p.cutoff(3_600_000)).toBe('(SELECT now() - $2::interval)');
    expect(p.add('x')).toBe('$3');
    expect(p.ago(0)).toBe('now()');
    expect(p.at({ at: '2026-01-01T00:00:00Z' })).toBe('$4::timestamptz');
    expect(p.at({ agoMs: 3_600_000 })).toBe('now() - $2::interval');
    expect(p.statement('SELECT 1')).toEqual({
      text: 'SELECT 1',
      params: [0.5, '3600 seconds', 'x', '2026-01-01T00:00:00Z'],
    });
  });

  it('every placeholder names the value it was returned for, whatever the order of calls', () => {
    type Call = { op: 'add'; v: number } | { op: 'ago' | 'cutoff'; ms: number };
    const call: fc.Arbitrary<Call> = fc.oneof(
      fc.record({ op: fc.constant('add' as const), v: fc.integer() }),
      fc.record({
        op: fc.constantFrom('ago' as const, 'cutoff' as const),
        ms: fc.integer({ min: 1, max: 5 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(call, { maxLength: 30 }), (calls) => {
        const p = new SqlBuilder();
        for (const c of calls) {
          const sql = c.op === 'add' ? p.add(c.v, 'int') : p[c.op](c.ms * 1000);
          const n = Number(/\$(\d+)/.exec(sql)?.[1]);
          expect(p.params[n - 1]).toBe(c.op === 'add' ? c.v : `${c.ms} seconds`);
        }
        // One parameter per add and per distinct length, no more.
        const lengths = new Set(calls.flatMap((c) => (c.op === 'add' ? [] : [c.ms])));
        expect(p.params).toHaveLength(calls.filter((c) => c.op === 'add').length + lengths.size);
      }),
    );
  });

  describe('against the database', () => {
    let db: TestDb;
    beforeAll(async () => {
      db = await openTestDb();
    });
    afterAll(async () => {
      await db?.close();
    });

    it('binds each value where its placeholder stands, a reused length included', async () => {
      const p = new SqlBuilder();
      const text = `SELECT ${p.add(7, 'int')} AS a, ${p.add('seven', 'text')} AS b,
  extract(epoch FROM now() - ${p.cutoff(90_000)})::float8 AS cut, extract(epoch FROM now() - (${p.ago(90_000)}))::float8 AS ago,
  ${p.at({ at: '2026-01-02T03:04:05Z' })} = '2026-01-02T03:04:05Z'::timestamptz AS at_ok`;
      const st = p.statement(text);
      expect(st.params).toHaveLength(4);
      const rows = await db.warehouse.readOnly({ timeoutMs: 5000 }, (q) => q.query(st.text, st.params));
      expect(rows).toEqual([{ a: 7, b: 'seven', cut: 90, ago: 90, at_ok: true }]);
    });
  });
});
