import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStateDb } from '../src/actions/store/db.js';
import { migrate } from '../src/actions/store/migrations.js';
import { loadConfigText } from '../src/config/load.js';
import { Exporter } from '../src/runtime/exporter.js';
import { type Running, serve } from '../src/runtime/serve.js';
import { openCheckSharing, warehouseIdentity } from '../src/runtime/sharing/open.js';
import { definitionOf, lockKey, PgCheckSharing } from '../src/runtime/sharing/pg-sharing.js';
import { createPgWarehouse } from '../src/warehouse/pg.js';
import type { Warehouse } from '../src/warehouse/types.js';
import { ACCESS_YAML } from './helpers/credentials.js';
import { onRealPostgres, openTestDb, type TestDb } from './helpers/db.js';
import { memoryLogger } from './helpers/exporter.js';
import { type Parsed, parseExposition, sampleValue, series } from './helpers/exposition.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { waitFor } from './helpers/wait.js';

// Two replicas of one config on one state store (src/runtime/sharing/): each check runs on one of them per
// interval, both serve every check's result, and a replica that goes away leaves its checks to the other within
// two intervals. The warehouse's own count of scans on a table only one check reads is the judge of "once".
// Sharing needs a PostgreSQL state store: with PGlite (one process) there is nothing to share with.
const NO_PG = onRealPostgres
  ? ''
  : ' [skipped: needs PostgreSQL (MLWATCH_TEST_DATABASE_URL); a PGlite state store is one process, nothing to share]';

const INTERVAL_MS = 1000;
const CHECKS = ['dataset:events:scan', 'query:probe', 'query:clock'];

let db: TestDb;
beforeAll(async () => {
  db = await openTestDb();
});
afterAll(async () => {
  await db?.close();
});

/**
 * A config of three checks every second: the freshness of `events` (a sample that grows between runs), `probe`,
 * the only reader of its table, and `clock`; both queries export the warehouse's clock at their run, which no
 * two runs share: two replicas export the same value only when one took the other's result.
 */
function configText(stateSchema: string): string {
  const s = db.schema;
  return `warehouse: { url: '${db.url}', statement_timeout: 5s }
state: { url: '${db.url}', schema: ${stateSchema} }
defaults: { interval: 1s, jitter: 0 }
datasets:
  - name: events
    table: ${s}.events
    timestamp: at
    checks: { freshness: {} }
queries:
  - name: probe
    sql: SELECT count(*) AS n, floor(extract(epoch FROM clock_timestamp()) * 1000) AS at_ms FROM ${s}.probe
    metrics:
      - { name: t_probe_rows, help: Rows of the probe table., value: n }
      - { name: t_probe_read_ms, help: When the run read the probe table., value: at_ms }
  - name: clock
    sql: SELECT floor(extract(epoch FROM clock_timestamp()) * 1000) AS ms
    metrics: [{ name: t_clock_ms, help: The warehouse clock at the run., value: ms }]
${ACCESS_YAML}`;
}

/** Each replica's log lines, for what it says about sharing. */
const logsOf = new Map<Running, () => Record<string, unknown>[]>();

/** The config text each replica reloads (POST /-/reload, SIGHUP): the tests change it. */
const reloadText = new Map<Running, string>();

async function startReplica(text: string, openWarehouse?: () => Warehouse): Promise<Running> {
  const config = loadConfigText(text, 'replicas.yaml', {}, '/');
  const logger = memoryLogger();
  const r: Running = await serve({
    config,
    ...(openWarehouse ? { openWarehouse } : {}),
    loadAgain: () => loadConfigText(reloadText.get(r) ?? text, 'replicas.yaml', {}, '/'),
    host: '127.0.0.1',
    port: 0,
    log: logger.log,
    shutdownGraceMs: 5000,
  });
  logsOf.set(r, logger.lines);
  return r;
}

const messages = (r: Running) => (logsOf.get(r)?.() ?? []).map((l) => String(l.msg));

const scrapeOf = async (r: Running): Promise<Parsed> => parseExposition(await r.exporter.metricsText());

/** The check families' lines (HELP, TYPE, samples) as served, but for the age that grows between scrapes. */
async function checkLines(r: Running): Promise<string[]> {
  return (await r.exporter.metricsText())
    .split('\n')
    .filter((l) => /^(# (HELP|TYPE) )?(t_|mlwatch_dataset_)/.test(l) && !l.includes('newest_row_age'));
}

const runsOf = (r: Running, id: string) =>
  r.exporter.cachedChecks().find((s) => s.check.id === id)?.runs ?? 0;

async function probeScans(): Promise<number> {
  const [row] = await db.writer.query(
    'SELECT seq_scan FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = $2',
    [db.schema, 'probe'],
  );
  return Number(row?.seq_scan);
}

describe.skipIf(!onRealPostgres)(`two replicas on one state store${NO_PG}`, () => {
  const stateSchema = () => `${db.schema}_replicas`;
  let a: Running;
  let b: Running;
  let scansBefore = 0;
  const stopped: Running[] = [];

  beforeAll(async () => {
    await db.writer.exec(`CREATE TABLE ${db.schema}.probe (x int); INSERT INTO ${db.schema}.probe VALUES (1), (2);
      CREATE TABLE ${db.schema}.events (at timestamptz); INSERT INTO ${db.schema}.events VALUES (now() - interval '90 seconds');`);
    scansBefore = await probeScans();
    a = await startReplica(configText(stateSchema()));
    await a.exporter.firstRound();
    b = await startReplica(configText(stateSchema()));
    await b.exporter.firstRound();
  });
  afterAll(async () => {
    for (const r of [a, b]) if (r && !stopped.includes(r)) await r.shutdown();
    await db.writer.exec(`DROP SCHEMA IF EXISTS ${stateSchema()} CASCADE`);
  });

  it('each check runs on one replica, and the two run it once per interval between them', async () => {
    // Every check has exactly one runner, and the other replica took its results rather than running it.
    const [pa, pb] = [await scrapeOf(a), await scrapeOf(b)];
    for (const check of CHECKS) {
      const runner = [pa, pb].map((p) => sampleValue(p, 'mlwatch_check_runner', { check }));
      expect([...runner].sort(), check).toEqual([0, 1]);
      const follower = runner[0] === 0 ? a : b;
      expect(runsOf(follower, check), check).toBe(0);
      const state = follower.exporter.cachedChecks().find((s) => s.check.id === check);
      expect(state?.peerResults, check).toBeGreaterThan(0);
    }

    // Over a window of six intervals: the runs of both together are one replica's (two each would be twelve).
    const before = CHECKS.map((c) => runsOf(a, c) + runsOf(b, c));
    const started = performance.now();
    await new Promise((r) => setTimeout(r, 6 * INTERVAL_MS));
    const elapsed = (performance.now() - started) / INTERVAL_MS;
    const runs = CHECKS.map((c, i) => runsOf(a, c) + runsOf(b, c) - (before[i] as number));
    console.log('runs of both replicas in %s intervals:', elapsed.toFixed(2), JSON.stringify(runs));
    for (const [i, n] of runs.entries()) {
      expect(n, CHECKS[i]).toBeGreaterThanOrEqual(Math.floor(elapsed) - 1);
      expect(n, CHECKS[i]).toBeLessThanOrEqual(Math.ceil(elapsed) + 1);
    }
  });

  it("both serve every check's result: the same exposition, the runner's times and values", async () => {
    // The follower trails the runner by its next look (a fraction of the interval): wait for a moment both show
    // the same runs. The queries' values are the warehouse's clock at their run: equal only when shared.
    const same = await waitFor(
      async () => {
        const [la, lb] = [await checkLines(a), await checkLines(b)];
        return la.join('\n') === lb.join('\n') ? la : undefined;
      },
      10_000,
      'both replicas serving the same check samples',
    );
    expect(same.some((l) => l.startsWith('t_clock_ms '))).toBe(true);
    expect(same.some((l) => l.startsWith('t_probe_read_ms '))).toBe(true);
    expect(same.some((l) => l.startsWith('mlwatch_dataset_last_update_timestamp_seconds{'))).toBe(true);

    const [pa, pb] = [await scrapeOf(a), await scrapeOf(b)];
    // The age of the newest row grows between runs on each replica's own clock, from the runner's measure.
    const age = (p: Parsed) =>
      sampleValue(p, 'mlwatch_dataset_newest_row_age_seconds', { dataset: 'events' });
    expect(Math.abs(age(pa) - age(pb))).toBeLessThan(INTERVAL_MS / 1000 + 0.5);
    expect(age(pa)).toBeGreaterThan(80);
    // The self metrics of a check's last run say the same on both: whichever replica ran it.
    await waitFor(
      async () => {
        const [qa, qb] = [await scrapeOf(a), await scrapeOf(b)];
        return CHECKS.every((check) =>
          [
            'mlwatch_check_success',
            'mlwatch_check_last_success_timestamp_seconds',
            'mlwatch_check_duration_seconds',
          ].every((name) => sampleValue(qa, name, { check }) === sampleValue(qb, name, { check })),
        );
      },
      10_000,
      'the same last run on both',
    );
    for (const p of [pa, pb])
      expect(series(p, 'mlwatch_check_success').map((s) => s.value)).toEqual([1, 1, 1]);
    // The values themselves reach the follower too (the landing page's key values read them): the same names,
    // labels and values as the runner's, the growing ages aside.
    const values = (r: Running) =>
      (r.exporter.cachedChecks().find((s) => s.check.id === 'dataset:events:scan')?.samples ?? [])
        .filter((s) => s.agingSince === undefined)
        .map((s) => `${s.name}${JSON.stringify(s.labels)} ${s.value}`)
        .sort();
    const runnerValues = values(a).length > 0 ? values(a) : values(b);
    expect(runnerValues.length).toBeGreaterThan(0);
    expect(values(a)).toEqual(runnerValues);
    expect(values(b)).toEqual(runnerValues);
  });

  it('a replica whose state store session is cut runs its checks alone, then shares them again', async () => {
    // The session holding the clock check's lock, found by the lock's key as pg_locks splits a bigint key.
    const clock = a.exporter.cachedChecks().find((s) => s.check.id === 'query:clock')?.check;
    const key = lockKey(
      stateSchema(),
      'query:clock',
      definitionOf(warehouseIdentity(db.url as string), clock?.fingerprint as string),
    );
    const [holder] = await db.writer.query(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
          AND classid = (($1::bigint >> 32) & 4294967295)::oid AND objid = ($1::bigint & 4294967295)::oid`,
      [key],
    );
    expect(holder?.pid).toBeDefined();
    const runner =
      sampleValue(await scrapeOf(a), 'mlwatch_check_runner', { check: 'query:clock' }) === 1 ? a : b;
    const runsBefore = runsOf(runner, 'query:clock');
    await db.writer.query('SELECT pg_terminate_backend($1)', [holder?.pid]);

    // Cut off, it keeps running its checks (the warehouse does double work meanwhile), and says why.
    await waitFor(() => runsOf(runner, 'query:clock') >= runsBefore + 2, 10_000, 'runs while cut off');
    expect(messages(runner)).toContain(
      'checks not shared with other replicas: this exporter runs each check itself until it can take their locks',
    );
    // Back on a new session (after 5 s), it finds the checks taken and follows again: one runner per check.
    await waitFor(
      async () => {
        const [pa, pb] = [await scrapeOf(a), await scrapeOf(b)];
        return (
          messages(runner).includes('checks shared again') &&
          CHECKS.every(
            (check) =>
              sampleValue(pa, 'mlwatch_check_runner', { check }) +
                sampleValue(pb, 'mlwatch_check_runner', { check }) ===
              1,
          )
        );
      },
      20_000,
      'one runner per check again',
    );
    const settled = CHECKS.map((c) => runsOf(a, c) + runsOf(b, c));
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
    const runs = CHECKS.map((c, i) => runsOf(a, c) + runsOf(b, c) - (settled[i] as number));
    for (const n of runs) expect(n).toBeLessThanOrEqual(4);
  });

  it('a changed check is run by each config during a rollout, and shared again once both have it', async () => {
    const probeRunner = async () =>
      [await scrapeOf(a), await scrapeOf(b)].map((p) =>
        sampleValue(p, 'mlwatch_check_runner', { check: 'query:probe' }),
      );
    const text = configText(stateSchema()).replace('SELECT count(*) AS n,', 'SELECT count(x) AS n,');
    // One replica has the new definition: it runs it, the other keeps running the old one.
    reloadText.set(b, text);
    expect(await b.reload()).toEqual({ ok: true });
    await waitFor(
      async () => (await probeRunner()).join() === '1,1',
      10_000,
      'each replica running its own definition',
    );
    // Both have it: the old definition's lock is given up, and the new one has one runner.
    reloadText.set(a, text);
    expect(await a.reload()).toEqual({ ok: true });
    await waitFor(
      async () => (await probeRunner()).sort().join() === '0,1',
      10_000,
      'one runner of the new definition',
    );
    // The other checks did not change: they kept their runner through both reloads.
    for (const check of CHECKS.filter((c) => c !== 'query:probe')) {
      const [pa, pb] = [await scrapeOf(a), await scrapeOf(b)];
      expect(
        sampleValue(pa, 'mlwatch_check_runner', { check }) +
          sampleValue(pb, 'mlwatch_check_runner', { check }),
        check,
      ).toBe(1);
    }
  });

  it('a replica that stops leaves its checks to the other within two intervals', async () => {
    // Stop the replica that runs the most checks (with jitter 0 and a head start: all of them).
    const pa = await scrapeOf(a);
    const aRuns = CHECKS.filter((check) => sampleValue(pa, 'mlwatch_check_runner', { check }) === 1).length;
    const [gone, left] = aRuns >= CHECKS.length / 2 ? [a, b] : [b, a];
    expect(CHECKS.filter((check) => runsOf(gone, check) > 0).length).toBeGreaterThan(0);
    const runsBefore = new Map(CHECKS.map((c) => [c, runsOf(left, c)]));
    const t0 = performance.now();
    await gone.shutdown();
    stopped.push(gone);
    const tookOver = await waitFor(
      async () => {
        const p = await scrapeOf(left);
        const all = CHECKS.every(
          (check) =>
            sampleValue(p, 'mlwatch_check_runner', { check }) === 1 &&
            runsOf(left, check) > (runsBefore.get(check) as number),
        );
        return all ? performance.now() - t0 : undefined;
      },
      10_000,
      'the remaining replica running every check',
    );
    console.log(
      'failover: %d ms after the other replica stopped (interval %d ms)',
      Math.round(tookOver),
      INTERVAL_MS,
    );
    expect(tookOver).toBeLessThan(2 * INTERVAL_MS);
  });

  it('the warehouse scanned the probe table exactly as often as the replicas say they ran its check', async () => {
    const runs = runsOf(a, 'query:probe') + runsOf(b, 'query:probe');
    for (const r of [a, b]) {
      if (!stopped.includes(r)) {
        await r.shutdown();
        stopped.push(r);
      }
    }
    // Counted when the two exporters' connections ended (a backend reports its statistics when it exits).
    const total = runsOf(a, 'query:probe') + runsOf(b, 'query:probe');
    expect(total).toBeGreaterThanOrEqual(runs);
    const scans = await waitFor(
      async () => {
        const n = (await probeScans()) - scansBefore;
        return n === total ? n : undefined;
      },
      15_000,
      `the server's seq_scan count of probe to reach the replicas' ${total} runs`,
      async () => `seq_scan: ${(await probeScans()) - scansBefore}`,
    );
    console.log('probe: %d runs counted by the replicas, %d scans counted by PostgreSQL', total, scans);
  });
});

describe.skipIf(!onRealPostgres)(`a replica that cannot reach the warehouse${NO_PG}`, () => {
  const stateSchema = () => `${db.schema}_cut`;
  let proxy: TcpProxy;
  let cut: Running;
  let direct: Running;

  beforeAll(async () => {
    await db.writer.exec(`CREATE TABLE IF NOT EXISTS ${db.schema}.probe (x int);
      CREATE TABLE IF NOT EXISTS ${db.schema}.events (at timestamptz);`);
    const url = new URL(db.url as string);
    proxy = new TcpProxy(url.hostname, Number(url.port || 5432));
    const through = new URL(url);
    through.port = String(await proxy.start());
    // The same config (the same warehouse URL, so the same checks to share); only the road to the warehouse
    // differs: the replica behind the proxy starts first and takes every check.
    cut = await startReplica(configText(stateSchema()), () =>
      createPgWarehouse({
        url: through.toString(),
        pool: 4,
        applicationName: 'mlwatch',
        connectTimeoutMs: 1000,
      }),
    );
    await cut.exporter.firstRound();
    direct = await startReplica(configText(stateSchema()));
    await direct.exporter.firstRound();
  });
  afterAll(async () => {
    for (const r of [cut, direct]) await r?.shutdown();
    await proxy?.stop();
    await db.writer.exec(`DROP SCHEMA IF EXISTS ${stateSchema()} CASCADE`);
  });

  it('leaves its checks to the replica that can, and serves that one’s results instead of its failures', async () => {
    const p = await scrapeOf(cut);
    expect(CHECKS.map((check) => sampleValue(p, 'mlwatch_check_runner', { check }))).toEqual([1, 1, 1]);
    await proxy.cut();
    const since = Date.now() / 1000;
    // The other replica runs every check, and both serve its successful runs, newer than the cut.
    await waitFor(
      async () => {
        const [pc, pd] = [await scrapeOf(cut), await scrapeOf(direct)];
        return CHECKS.every(
          (check) =>
            sampleValue(pd, 'mlwatch_check_runner', { check }) === 1 &&
            sampleValue(pc, 'mlwatch_check_runner', { check }) === 0 &&
            [pc, pd].every(
              (q) =>
                sampleValue(q, 'mlwatch_check_success', { check }) === 1 &&
                sampleValue(q, 'mlwatch_check_last_success_timestamp_seconds', { check }) > since,
            ),
        );
      },
      15_000,
      'the replica that reaches the warehouse running every check, served by both',
    );
    // What the cut replica saw of the warehouse is its own: its ping says so (and its WarehouseUnreachable would
    // silence its own alerts), while the failed runs were never shared.
    await waitFor(
      () => cut.exporter.warehouseUp() === 0,
      15_000,
      'the cut replica seeing the warehouse down',
    );
    const pd = await scrapeOf(direct);
    expect(sampleValue(pd, 'mlwatch_warehouse_up')).toBe(1);
    expect(series(pd, 'mlwatch_check_errors_total').map((x) => x.value)).toEqual([0, 0, 0]);
    await proxy.restore();
  });
});

describe.skipIf(!onRealPostgres)(`results that stop coming${NO_PG}`, () => {
  it('the other replica runs the check itself after two intervals and a timeout, and follows again after', async () => {
    const stateSchema = `${db.schema}_unheard`;
    // A 1 s timeout: the follower waits 2 x 1 s + 1 s without a result before it runs the check.
    const text = `warehouse: { url: '${db.url}', statement_timeout: 1s }
state: { url: '${db.url}', schema: ${stateSchema} }
defaults: { interval: 1s, jitter: 0 }
queries:
  - name: clock
    sql: SELECT floor(extract(epoch FROM clock_timestamp()) * 1000) AS ms
    metrics: [{ name: t_clock_ms, help: The warehouse clock at the run., value: ms }]
${ACCESS_YAML}`;
    const runner = await startReplica(text);
    await runner.exporter.firstRound();
    const follower = await startReplica(text);
    const runnerOf = async (r: Running) =>
      sampleValue(await scrapeOf(r), 'mlwatch_check_runner', { check: 'query:clock' });
    try {
      await follower.exporter.firstRound();
      expect([await runnerOf(runner), await runnerOf(follower)]).toEqual([1, 0]);
      // The runner can no longer share (nor the follower read): its writes fail.
      await db.writer.exec(`ALTER TABLE ${stateSchema}.check_results RENAME TO check_results_away`);
      const away = performance.now();
      const before = runsOf(follower, 'query:clock');
      await waitFor(
        async () => (await runnerOf(follower)) === 1 && runsOf(follower, 'query:clock') > before,
        10_000,
        'the follower running the check itself',
      );
      const waited = performance.now() - away;
      console.log('unheard: the follower ran the check itself after %d ms', Math.round(waited));
      expect(waited).toBeGreaterThan(3_000);
      expect(messages(runner)).toContain('cannot share the check result');
      expect(messages(follower)).toContain(
        'no result shared by the replica that runs the check: running it here too',
      );
      // Shared again: the follower takes the runner's results and stops running the check.
      await db.writer.exec(`ALTER TABLE ${stateSchema}.check_results_away RENAME TO check_results`);
      await waitFor(async () => (await runnerOf(follower)) === 0, 10_000, 'the follower following again');
      expect(await runnerOf(runner)).toBe(1);
    } finally {
      await Promise.all([runner.shutdown(), follower.shutdown()]);
      await db.writer.exec(`DROP SCHEMA IF EXISTS ${stateSchema} CASCADE`);
    }
  });
});

describe.skipIf(!onRealPostgres)(`a result too large to share${NO_PG}`, () => {
  it('is run by every replica: the runner says so, and the other runs the check itself', async () => {
    const schema = `${db.schema}_oversize`;
    const config = loadConfigText(
      `warehouse: { url: '${db.url}' }
defaults: { interval: 1s, jitter: 0 }
queries:
  - name: wide
    sql: SELECT g AS i, g * 2 AS v FROM generate_series(1, 50) AS g
    metrics: [{ name: t_wide, help: Fifty series., labels: [i], value: v }]
`,
      't.yaml',
      {},
      '/',
    );
    const replica = () => {
      const logger = memoryLogger();
      const sharing = new PgCheckSharing({
        state: { url: db.url as string, applicationName: 't', connectTimeoutMs: 5000 },
        schema,
        warehouse: db.url as string,
        log: logger.log,
        isStoreReady: () => true,
        followMs: 500,
        // Fifty lines of t_wide are about 1 KB: over this, under the default.
        maxSharedBytes: 512,
      });
      const exporter = Exporter.start(config, {
        log: logger.log,
        openWarehouse: () => db.newWarehouse(),
        withProcessMetrics: false,
        sharing,
      });
      return { exporter, logs: logger.lines };
    };
    const store = openStateDb({ url: db.url as string, applicationName: 't', connectTimeoutMs: 5000 });
    await migrate(store, schema).finally(() => store.close());
    const first = replica();
    const second = replica();
    try {
      await first.exporter.firstRound();
      await second.exporter.firstRound();
      await waitFor(
        async () => {
          const runs = await Promise.all(
            [first, second].map(async (r) =>
              sampleValue(parseExposition(await r.exporter.metricsText()), 'mlwatch_check_runs_total', {
                check: 'query:wide',
              }),
            ),
          );
          return runs.every((n) => n >= 2);
        },
        10_000,
        'both replicas running the check',
      );
      for (const r of [first, second]) {
        const p = parseExposition(await r.exporter.metricsText());
        expect(sampleValue(p, 'mlwatch_check_runner', { check: 'query:wide' })).toBe(1);
        expect(series(p, 't_wide')).toHaveLength(50);
      }
      // Whichever replica took the lock first found the result too large (under load it is not always the first
      // one started).
      expect([...first.logs(), ...second.logs()].map((l) => l.msg)).toContain(
        'check result too large to share: every replica runs this check',
      );
      const [row] = await db.writer.query(`SELECT oversize, samples FROM ${schema}.check_results`);
      expect(row).toEqual({ oversize: true, samples: null });
    } finally {
      await Promise.all([first, second].map((r) => r.exporter.stop(1000)));
      await db.writer.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  });
});

describe('where checks are shared', () => {
  const load = (warehouse: string, state: string) =>
    loadConfigText(
      `warehouse: { url: '${warehouse}' }\n${state ? `state: { url: '${state}' }\n` : ''}${ACCESS_YAML}`,
      't.yaml',
      {},
      '/',
    );
  const open = (warehouse: string, state = '') =>
    openCheckSharing(load(warehouse, state), { log: pino({ level: 'silent' }), isStoreReady: () => false });

  it('only on a PostgreSQL state store, and not for an embedded warehouse that each process has its own', async () => {
    const pg = 'postgresql://u@db.example:5432/w';
    const shared = open(pg);
    expect(shared).toBeInstanceOf(PgCheckSharing);
    await shared?.stop();
    expect(open(pg, 'pglite:/var/lib/mlwatch/state')).toBeUndefined();
    expect(open('pglite:memory')).toBeUndefined();
    expect(open('pglite:memory', pg)).toBeUndefined();
  });

  it('only between replicas of the same warehouse, whatever its password', () => {
    const same = warehouseIdentity(
      'postgresql://reader:old-secret@db.example:5432/dw?password=x&sslmode=require',
    );
    expect(same).toBe(warehouseIdentity('postgresql://reader:new-secret@db.example:5432/dw?sslmode=require'));
    expect(same).not.toContain('secret');
    expect(same).not.toBe(
      warehouseIdentity('postgresql://reader@db-staging.example:5432/dw?sslmode=require'),
    );
    // The definition shared, hence the lock and the row, differs with the warehouse.
    expect(definitionOf(same, 'f')).not.toBe(
      definitionOf('postgresql://reader@db-staging.example:5432/dw', 'f'),
    );
  });

  it('a state store out of reach: every check still runs here, and the runner gauge says so', async () => {
    const config = loadConfigText(
      `warehouse: { url: '${db.configUrl}' }
defaults: { interval: 1h }
queries:
  - { name: one, sql: SELECT 1 AS v, metrics: [{ name: t_one, help: One., value: v }] }
`,
      't.yaml',
      {},
      '/',
    );
    const logger = memoryLogger();
    const sharing = new PgCheckSharing({
      state: { url: 'postgresql://postgres@127.0.0.1:1/test', applicationName: 't', connectTimeoutMs: 1000 },
      schema: 'nowhere',
      warehouse: db.configUrl,
      log: logger.log,
      isStoreReady: () => true,
      followMs: 1000,
      startupWaitMs: 300,
    });
    const e = Exporter.start(config, {
      log: logger.log,
      openWarehouse: () => db.newWarehouse(),
      withProcessMetrics: false,
      sharing,
    });
    try {
      await e.firstRound();
      const p = parseExposition(await e.metricsText());
      expect(sampleValue(p, 't_one')).toBe(1);
      expect(sampleValue(p, 'mlwatch_check_runner', { check: 'query:one' })).toBe(1);
      expect(sampleValue(p, 'mlwatch_check_runs_total', { check: 'query:one' })).toBe(1);
      expect(logger.lines().map((l) => l.msg)).toContain(
        'checks not shared with other replicas: this exporter runs each check itself until it can take their locks',
      );
    } finally {
      await e.stop(1000);
    }
  });
});
