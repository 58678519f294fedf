import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteIdent, quoteQualified } from '../src/sql/identifiers.js';
import { openTestDb, type TestDb } from './helpers/db.js';

describe('identifier quoting', () => {
  it('quotes and doubles embedded quotes', () => {
    expect(quoteIdent('orders')).toBe('"orders"');
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
    expect(() => quoteIdent('')).toThrow('cannot be empty');
  });

  it('splits schema.table and keeps quoted parts whole', () => {
    expect(quoteQualified('public.orders')).toBe('"public"."orders"');
    expect(quoteQualified('orders')).toBe('"orders"');
    expect(quoteQualified('"my.schema"."Orders"')).toBe('"my.schema"."Orders"');
    expect(() => quoteQualified('a.')).toThrow('ends with a dot');
    expect(() => quoteQualified('a.b.c.d')).toThrow('has 4 parts');
  });

  describe('against the database', () => {
    let db: TestDb;
    beforeAll(async () => {
      db = await openTestDb();
      await db.writer.exec(
        `CREATE TABLE ${db.schema}."Odd ""name""; DROP" (v int); INSERT INTO ${db.schema}."Odd ""name""; DROP" VALUES (7)`,
      );
    });
    afterAll(async () => {
      await db?.close();
    });

    it('a hostile table name stays one identifier', async () => {
      const table = quoteQualified(`${db.schema}."Odd ""name""; DROP"`);
      const rows = await db.warehouse.readOnly({ timeoutMs: 5000 }, (q) => q.query(`SELECT v FROM ${table}`));
      expect(rows).toEqual([{ v: 7 }]);
      const raw = quoteIdent('Odd "name"; DROP');
      const again = await db.warehouse.readOnly({ timeoutMs: 5000 }, (q) =>
        q.query(`SELECT v FROM ${db.schema}.${raw}`),
      );
      expect(again).toEqual([{ v: 7 }]);
    });
  });
});
