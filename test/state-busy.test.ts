import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStateDb, pgliteStateDb, type StateDb } from '../src/actions/store/db.js';
import { stateErrors } from '../src/http/state-errors.js';
import type { Running } from '../src/runtime/serve.js';
import { onRealPostgres, openTestDb, type TestDb } from './helpers/db.js';
import { getTickets, postAlerts, serveState, warningAlert, webhook } from './helpers/state-server.js';

// A busy or unreachable state store answers 503 with Retry-After, quickly, never a 500 or a hang (issue 11):
// first through the real `mlwatch serve` while another session holds the tickets table locked, then the
// middleware (src/http/state-errors.ts) on each kind of error, each one produced for real.

let db: TestDb;
const schemas: string[] = [];

beforeAll(async () => {
  db = await openTestDb();
});
afterAll(async () => {
  if (db?.kind === 'pg') for (const s of schemas) await db.writer.exec(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await db?.close();
});

const timed = async <T>(p: Promise<T>) => {
  const start = Date.now();
  const value = await p;
  return { value, ms: Date.now() - start };
};

describe.skipIf(!onRealPostgres)('a tickets table locked for 8 s', () => {
  it('webhooks and reads answer 503 with Retry-After within seconds; the same webhook then succeeds once', async () => {
    const schema = `${db.schema}_busy`;
    schemas.push(schema);
    const served: Running & { url: string } = await serveState(db, { schema });
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      const alerts = [warningAlert('busy-0'), warningAlert('busy-1'), warningAlert('busy-2')];
      await holder.query('BEGIN');
      await holder.query(`LOCK TABLE ${schema}.tickets IN ACCESS EXCLUSIVE MODE`);
      const lockedAt = Date.now();
      // Twice the pool (2 connections): two wait on the lock, two wait for a connection first.
      const answers = await Promise.all([
        timed(postAlerts(served.url, webhook(alerts))),
        timed(getTickets(served.url)),
        timed(postAlerts(served.url, webhook(alerts))),
        timed(getTickets(served.url, '?state=open')),
      ]);
      const seen = await Promise.all(
        answers.map(async ({ value, ms }) => ({
          status: value.status,
          retryAfter: value.headers.get('retry-after'),
          body: await value.text(),
          ms,
        })),
      );
      console.log(`while locked: ${seen.map((s) => `${s.status} in ${s.ms} ms`).join(', ')}`);
      for (const s of seen) {
        expect(s.status).toBe(503);
        expect(Number(s.retryAfter)).toBeGreaterThan(0);
        expect(s.body).toMatch(/^state store busy: [^\n]+; nothing was changed, retry later\n$/);
        // The pool wait (3 s at most) plus lock_timeout (2 s) per lock waited on: the second copy of the webhook
        // waits on the first's delivery rows, then on the table (about 6 s). Before the lock goes at 8 s, where
        // before every request hung 10 s on the pool and answered 500.
        expect(s.ms).toBeLessThan(7500);
      }
      // /metrics never waits on the store.
      const scrape = await timed(fetch(`${served.url}/metrics`));
      expect([scrape.value.status, scrape.ms < 1000]).toEqual([200, true]);

      await new Promise((r) => setTimeout(r, Math.max(0, 8000 - (Date.now() - lockedAt))));
      await holder.query('COMMIT');

      // Alertmanager's retry: the refused webhooks changed nothing, so the same one now opens each ticket once.
      const retry = await postAlerts(served.url, webhook(alerts));
      expect([retry.status, await retry.json()]).toEqual([
        200,
        { opened: 3, updated: 0, resolved: 0, duplicates: 0 },
      ]);
      const rows = await db.writer.query(
        `SELECT fingerprint, count(*)::int AS n FROM ${schema}.tickets GROUP BY 1 ORDER BY 1`,
      );
      expect(rows).toEqual([
        { fingerprint: 'busy-0', n: 1 },
        { fingerprint: 'busy-1', n: 1 },
        { fingerprint: 'busy-2', n: 1 },
      ]);
    } finally {
      await holder.end();
      await served.shutdown();
    }
  }, 60_000);
});

describe('a state store that cannot be reached', () => {
  it('answers webhooks with 503 and Retry-After', async () => {
    const served = await serveState(db, {
      schema: 'unreachable',
      stateUrl: 'postgresql://127.0.0.1:1/x',
      ready: false,
    });
    try {
      const res = await postAlerts(served.url, webhook([warningAlert('down-0')]));
      expect([res.status, res.headers.get('retry-after')]).toEqual([503, '10']);
    } finally {
      await served.shutdown();
    }
  });
});

// ----- the middleware on each kind of error, produced for real ------------------------------------------

/** An express app whose one route runs `work`, then stateErrors, then a last-resort 500 like the exporter's. */
async function appThat(work: () => Promise<unknown>) {
  const app = express();
  app.get('/', async (_req: Request, res: Response) => {
    res.json(await work());
  });
  app.use(stateErrors);
  app.use((_err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).type('text/plain').send('internal error\n');
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    const res = await fetch(url);
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
  } finally {
    await new Promise((r) => server.close(r));
  }
}

const openPg = (o: { statementTimeoutMs?: number; poolWaitMs?: number } = {}): StateDb =>
  openStateDb({ url: db.url as string, applicationName: 'mlwatch-test', connectTimeoutMs: 5000, ...o });

describe('stateErrors', () => {
  it('a refused connection: 503 and a fixed reason that names neither host nor password', async () => {
    const state = openStateDb({
      url: 'postgresql://mlwatch:s3cret-pw@127.0.0.1:1/warehouse',
      applicationName: 'mlwatch-test',
      connectTimeoutMs: 2000,
    });
    try {
      const got = await appThat(() => state.transaction((tx) => tx.query('SELECT 1')));
      expect(got).toEqual({
        status: 503,
        retryAfter: '10',
        body: 'state store unreachable: the connection failed; nothing was changed, retry later\n',
      });
    } finally {
      await state.close();
    }
  });

  it('text the store cannot keep (SQLSTATE 22021): 400', async () => {
    const state = db.pglite ? pgliteStateDb(db.pglite, false) : openPg();
    try {
      const got = await appThat(() =>
        state.transaction((tx) => tx.query(`SELECT convert_from('\\x6100'::bytea, 'UTF8')`)),
      );
      expect([got.status, got.retryAfter, got.body]).toEqual([
        400,
        null,
        expect.stringContaining('a character the state store cannot keep'),
      ]);
    } finally {
      await state.close();
    }
  });

  it('anything else goes on to the next error handler', async () => {
    const got = await appThat(async () => {
      throw new Error('not a state store problem');
    });
    expect(got).toEqual({ status: 500, retryAfter: null, body: 'internal error\n' });
  });

  it.skipIf(!onRealPostgres)('a statement past statement_timeout (57014): 503', async () => {
    const state = openPg({ statementTimeoutMs: 200 });
    try {
      const got = await appThat(() => state.transaction((tx) => tx.query('SELECT pg_sleep(2)')));
      expect(got).toEqual({
        status: 503,
        retryAfter: '5',
        body: 'state store busy: a statement ran past statement_timeout (SQLSTATE 57014); nothing was changed, retry later\n',
      });
    } finally {
      await state.close();
    }
  });

  it.skipIf(!onRealPostgres)('every pooled connection busy past the wait: 503', async () => {
    const state = openPg({ poolWaitMs: 200 });
    try {
      const hold = () => state.transaction((tx) => tx.query('SELECT pg_sleep(1)'));
      const held = [hold(), hold()];
      const got = await timed(appThat(() => state.transaction((tx) => tx.query('SELECT 1'))));
      expect(got.value).toEqual({
        status: 503,
        retryAfter: '5',
        body: 'state store busy: no database connection free in time; nothing was changed, retry later\n',
      });
      // The wait is bounded by poolWaitMs, not by the holders' second.
      expect(got.ms).toBeLessThan(900);
      await Promise.all(held);
    } finally {
      await state.close();
    }
  });
});
