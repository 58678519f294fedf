import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConnectionError } from '../src/warehouse/errors.js';
import { createPgWarehouse } from '../src/warehouse/pg.js';
import { type Served, startCli } from './helpers/cli.js';
import { ACCESS_YAML } from './helpers/credentials.js';
import { onRealPostgres, openTestDb, TEST_DATABASE_URL, type TestDb } from './helpers/db.js';
import { sampleValue, series } from './helpers/exposition.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { scrape, waitFor } from './helpers/wait.js';

// What only a real server can show: statement timeouts, concurrent connections, and a network that goes away.
describe.skipIf(!onRealPostgres)('against a real PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlwatch-pg-'));
  let db: TestDb;
  beforeAll(async () => {
    db = await openTestDb();
    await db.writer.exec(`CREATE TABLE ${db.schema}.events AS SELECT g AS id FROM generate_series(1, 250) g`);
  });
  afterAll(async () => {
    await db?.close();
  });

  const serveWith = async (name: string, yaml: string): Promise<Served> => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, `${yaml}\n${ACCESS_YAML}`);
    const s = await startCli(['serve', '--config', file, '--port', '0', '--host', '127.0.0.1']);
    await waitFor(async () => (await fetch(`${s.url}/readyz`)).status === 200, 30_000, 'readyz');
    return s;
  };

  it('times out a slow check while the others succeed on the same pool', async () => {
    const s = await serveWith(
      'timeout',
      `warehouse: { url: '${TEST_DATABASE_URL}', pool: 2 }
defaults: { interval: 1h }
queries:
  - name: slow
    timeout: 500ms
    sql: SELECT pg_sleep(5)::text AS label, 1 AS n
    metrics: [{ name: t_slow, help: h, value: n }]
  - name: fast_a
    sql: SELECT count(*) AS n FROM ${db.schema}.events
    metrics: [{ name: t_fast_a, help: h, value: n }]
  - name: fast_b
    sql: SELECT max(id) AS n FROM ${db.schema}.events
    metrics: [{ name: t_fast_b, help: h, value: n }]
`,
    );
    try {
      const m = await scrape(s.url);
      expect(sampleValue(m, 'mlwatch_check_success', { check: 'query:slow' })).toBe(0);
      expect(sampleValue(m, 'mlwatch_check_success', { check: 'query:fast_a' })).toBe(1);
      expect(sampleValue(m, 'mlwatch_check_success', { check: 'query:fast_b' })).toBe(1);
      expect(sampleValue(m, 't_fast_a')).toBe(250);
      expect(sampleValue(m, 't_fast_b')).toBe(250);
      expect(series(m, 't_slow')).toHaveLength(0);
      // A timeout is the check's problem: the warehouse answered.
      expect(sampleValue(m, 'mlwatch_warehouse_up')).toBe(1);
      expect(s.logs()).toContain(
        "statement timed out after 0.5s (statement_timeout); raise the check's timeout or make the query cheaper",
      );
    } finally {
      await s.stop();
    }
  });

  it('never has more checks in flight than the pool allows', async () => {
    const app = `mlwatch_conc_${db.schema}`;
    const queries = Array.from(
      { length: 6 },
      (_, i) => `  - name: c${i}
    sql: SELECT (SELECT count(*) FROM pg_stat_activity WHERE application_name = '${app}' AND state = 'active' AND query LIKE '%pg_sleep(0.4)%') AS n, pg_sleep(0.4)::text AS pause
    metrics: [{ name: t_conc_${i}, help: h, value: n }]
`,
    );
    const s = await serveWith(
      'concurrency',
      `warehouse: { url: '${TEST_DATABASE_URL}', pool: 2, application_name: ${app} }\ndefaults: { interval: 1h }\nqueries:\n${queries.join('')}`,
    );
    try {
      const m = await scrape(s.url);
      const seen = Array.from({ length: 6 }, (_, i) => sampleValue(m, `t_conc_${i}`));
      // Each check saw itself plus the other checks running at that moment: never more than the pool of 2. The
      // health ping has a connection of its own under the same application_name, so only check statements count.
      expect(Math.max(...seen)).toBe(2);
      expect(Math.min(...seen)).toBeGreaterThanOrEqual(1);
    } finally {
      await s.stop();
    }
  });

  it('survives the warehouse going away: serves last values with mlwatch_warehouse_up 0, then recovers', async () => {
    const upstream = new URL(TEST_DATABASE_URL as string);
    const proxy = new TcpProxy(upstream.hostname, Number(upstream.port || 5432));
    const port = await proxy.start();
    const viaProxy = new URL(TEST_DATABASE_URL as string);
    viaProxy.port = String(port);
    const s = await serveWith(
      'proxy',
      `warehouse: { url: '${viaProxy}', statement_timeout: 2s, connect_timeout: 1s }
defaults: { interval: 1s, jitter: 0 }
queries:
  - name: events
    sql: SELECT count(*) AS n FROM ${db.schema}.events
    metrics: [{ name: t_events, help: h, value: n }]
`,
    );
    try {
      expect(sampleValue(await scrape(s.url), 't_events')).toBe(250);

      await proxy.cut();
      const down = await waitFor(
        async () => {
          const m = await scrape(s.url);
          return sampleValue(m, 'mlwatch_warehouse_up') === 0 &&
            sampleValue(m, 'mlwatch_check_success', { check: 'query:events' }) === 0
            ? m
            : undefined;
        },
        30_000,
        'warehouse_up 0',
      );
      expect(sampleValue(down, 't_events')).toBe(250);
      expect(sampleValue(down, 'mlwatch_check_errors_total', { check: 'query:events' })).toBeGreaterThan(0);
      expect(s.child.exitCode).toBeNull();

      await db.writer.exec(`INSERT INTO ${db.schema}.events SELECT g FROM generate_series(251, 300) g`);
      await proxy.restore();
      const up = await waitFor(
        async () => {
          const m = await scrape(s.url);
          return sampleValue(m, 'mlwatch_warehouse_up') === 1 && sampleValue(m, 't_events') === 300
            ? m
            : undefined;
        },
        30_000,
        'recovery',
      );
      expect(sampleValue(up, 'mlwatch_check_success', { check: 'query:events' })).toBe(1);
      expect(s.logs()).toContain('"msg":"warehouse unreachable"');
      expect(s.logs()).toContain('"msg":"check recovered"');
    } finally {
      await s.stop();
      await proxy.stop();
    }
  });

  it('a connection cut between two statements of a check fails that check, and does not crash the process', async () => {
    // node-postgres emits 'error' on a checked-out client whose socket dies while no query is in flight.
    // Unhandled, that event kills the exporter (seen in the live stack when the warehouse went away); here the
    // cut falls exactly in that gap, and vitest fails the run on any uncaught exception.
    const upstream = new URL(TEST_DATABASE_URL as string);
    const proxy = new TcpProxy(upstream.hostname, Number(upstream.port || 5432));
    const viaProxy = new URL(TEST_DATABASE_URL as string);
    viaProxy.port = String(await proxy.start());
    const w = createPgWarehouse({
      url: viaProxy.toString(),
      pool: 1,
      applicationName: 'mlwatch-test',
      connectTimeoutMs: 1000,
    });
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const failed = await w
        .readOnly({ timeoutMs: 5000 }, async (q) => {
          await q.query('SELECT 1');
          await proxy.cut();
          await new Promise((r) => setTimeout(r, 300));
          return q.query('SELECT 2');
        })
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(uncaught).toEqual([]);
      expect(isConnectionError(failed)).toBe(true);

      // The broken client was destroyed, not pooled: once the network is back, the next check works.
      await proxy.restore();
      expect(await w.readOnly({ timeoutMs: 5000 }, (q) => q.query('SELECT 42 AS n'))).toEqual([{ n: 42 }]);
    } finally {
      process.off('uncaughtException', onUncaught);
      await w.close();
      await proxy.stop();
    }
  });
});
