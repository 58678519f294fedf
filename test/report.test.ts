import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport, NO_PROMETHEUS, periodEnding } from '../src/actions/report/build.js';
import { prometheusClient } from '../src/actions/report/prometheus.js';
import { DRIFT_PSI_THRESHOLD } from '../src/actions/report/promql.js';
import { ReportService } from '../src/actions/report/service.js';
import { openStateDb, pgliteStateDb, type StateDb } from '../src/actions/store/db.js';
import { migrate } from '../src/actions/store/migrations.js';
import { ROOT, runCli, type Served, startCli } from './helpers/cli.js';
import { ACCESS_YAML, VIEWER_HEADERS } from './helpers/credentials.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import { parseExposition, sampleValue } from './helpers/exposition.js';
import { toolOnPath } from './helpers/tools.js';
import { waitFor } from './helpers/wait.js';
import { webhookSink } from './helpers/webhook-sink.js';
import { freePort, Proc, waitHttpOk } from './stack/process.js';

// The weekly review (docs/report.md): its metric sections from a real Prometheus (Debian's, on a TSDB backfilled
// with promtool), its activity sections from the state store on PostgreSQL or PGlite, and the cadence.
const dir = mkdtempSync(join(tmpdir(), 'mlwatch-report-'));
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const END = new Date('2026-11-23T08:00:00Z');
const START = new Date(END.getTime() - 7 * DAY);
const E = END.getTime();
const S = START.getTime();
const log = pino({ level: 'silent' });

const haveProm = toolOnPath('prometheus') !== undefined && toolOnPath('promtool') !== undefined;

/** A table row as the report prints it. */
const row = (...cells: string[]) => `| ${cells.join(' | ')} |`;

async function closedPortUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}

describe('the report section', () => {
  it('names each mistake with its path and the fix', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      "warehouse: { url: 'pglite:memory' }\nreport:\n  cron: 'every monday'\n  webhook: 'ftp://x'\n",
    );
    const r = runCli(['check-config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `${file}:2 report.prometheus_url: missing; give the http(s) URL of the Prometheus that scrapes mlwatch, e.g. http://prometheus:9090`,
      `${file}:3 report.cron: 'every monday' is not a valid cron expression (5 or 6 fields, e.g. '*/5 * * * *')`,
      `${file}:4 report.webhook: 'ftp://x' is not an http(s) URL; give the URL of the endpoint that receives the report, e.g. https://chat/hooks/data-science`,
    ]);
  });
});

describe('the drift threshold', () => {
  it("is MlwatchFeatureDrift's", () => {
    const rules = readFileSync(join(ROOT, 'prometheus/rules/data.rules.yml'), 'utf8');
    expect(rules).toContain(`expr: mlwatch_feature_psi > ${DRIFT_PSI_THRESHOLD} and`);
  });
});

interface Point {
  name: string;
  labels: Record<string, string>;
  value: number;
  at: number;
}

// Samples one minute before the two query times (end of the period, one period earlier): inside Prometheus's
// 5-minute lookback for the instant query at that time, outside it for the other.
const points: Point[] = [];
const at2 = (
  name: string,
  labels: Record<string, string>,
  before: number | undefined,
  now: number | undefined,
) => {
  if (before !== undefined) points.push({ name, labels, value: before, at: S - 60_000 });
  if (now !== undefined) points.push({ name, labels, value: now, at: E - 60_000 });
};
// churn v3: two exporter instances, the report takes the highest: 0.80 -> 0.70.
at2('mlwatch_model_auc', { model: 'churn', version: 'v3', window: '7d', instance: 'a:9' }, 0.8, 0.7);
at2('mlwatch_model_auc', { model: 'churn', version: 'v3', window: '7d', instance: 'b:9' }, 0.78, 0.69);
// Another window of the same model: not the one compared.
at2('mlwatch_model_auc', { model: 'churn', version: 'v3', window: '1d', instance: 'a:9' }, 0.5, 0.5);
// A version that appeared during the week.
at2('mlwatch_model_auc', { model: 'churn', version: 'v4', window: '7d', instance: 'a:9' }, undefined, 0.75);
// NaN is no value: no row.
at2(
  'mlwatch_model_auc',
  { model: 'flat', version: 'v1', window: '7d', instance: 'a:9' },
  Number.NaN,
  Number.NaN,
);
at2('mlwatch_model_mae', { model: 'eta', version: 'v1', window: '7d', instance: 'a:9' }, 12.5, 11.25);
at2('mlwatch_model_label_coverage_ratio', { model: 'churn', version: 'v3', window: '7d' }, 0.9, 0.85);
at2('mlwatch_model_label_coverage_ratio', { model: 'eta', version: 'v1', window: '7d' }, 0.5, 0.625);
const psi = (dataset: string, feature: string, window: string, value: number, at: number) =>
  points.push({ name: 'mlwatch_feature_psi', labels: { dataset, feature, window }, value, at });
psi('applications', 'income', '7d', 0.1, S + HOUR);
psi('applications', 'income', '7d', 0.35, E - 2 * DAY);
psi('applications', 'income', '7d', 0.15, E - 60_000);
psi('applications', 'income', '1d', 0.5, E - DAY);
psi('applications', 'age', '7d', 0.19, E - 60_000);
psi('applications', 'age', '1d', 0.2, E - 60_000); // not above the threshold
psi('applications', 'zip', '7d', 0.9, S - HOUR); // before the period
psi('applications', 'zip', '7d', 0.05, E - 60_000);
psi('loans', 'amount', '7d', 0.21, E - 3 * DAY - HOUR);

function openMetrics(ps: Point[]): string {
  const lines: string[] = [];
  for (const name of [...new Set(ps.map((p) => p.name))]) {
    lines.push(`# TYPE ${name} gauge`);
    const series = new Map<string, Point[]>();
    for (const p of ps.filter((x) => x.name === name)) {
      const key = Object.entries(p.labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(',');
      series.set(key, [...(series.get(key) ?? []), p]);
    }
    for (const [key, s] of series) {
      for (const p of s.sort((a, b) => a.at - b.at)) lines.push(`${name}{${key}} ${p.value} ${p.at / 1000}`);
    }
  }
  return `${lines.join('\n')}\n# EOF\n`;
}

describe.skipIf(!haveProm)('metric sections from Prometheus', () => {
  let prom: Proc;
  let url: string;

  beforeAll(async () => {
    const file = join(dir, 'series.om');
    writeFileSync(file, openMetrics(points));
    const data = join(dir, 'tsdb');
    const made = spawnSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', file, data], {
      encoding: 'utf8',
    });
    if (made.status !== 0) throw new Error(`promtool failed: ${made.stderr}${made.stdout}`);
    writeFileSync(join(dir, 'prometheus.yml'), 'global: {}\n');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    prom = new Proc('prometheus', 'prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${data}`,
      '--storage.tsdb.retention.time=100y',
      `--web.listen-address=127.0.0.1:${port}`,
    ]);
    await waitHttpOk(`${url}/-/ready`, prom);
  }, 90_000);
  afterAll(async () => {
    await prom?.stop();
  });

  it('compares each model with the week before, lists drifted features and coverage', async () => {
    const r = await buildReport({
      period: periodEnding(END, 7 * DAY, '7d'),
      prometheus: prometheusClient(url, 10_000),
    });
    const lines = r.markdown.split('\n');
    expect(lines[0]).toBe('# mlwatch weekly review: 2026-11-16T08:00:00Z to 2026-11-23T08:00:00Z');
    const tableAfter = (heading: string) => {
      const i = lines.indexOf(heading);
      const from = lines.findIndex((l, j) => j > i && l.startsWith('|'));
      const to = lines.findIndex((l, j) => j > from && !l.startsWith('|'));
      return lines.slice(from + 2, to);
    };
    expect(tableAfter('## Model performance')).toEqual([
      row('churn', 'v3', 'AUC', '0.800', '0.700', '-0.100', 'worse'),
      row('churn', 'v4', 'AUC', '—', '0.750', '—', '—'),
      row('eta', 'v1', 'MAE', '12.500', '11.250', '-1.250', 'better'),
    ]);
    expect(tableAfter('## Label coverage')).toEqual([
      row('churn', 'v3', '90.0 %', '85.0 %', '-5.0 pp'),
      row('eta', 'v1', '50.0 %', '62.5 %', '+12.5 pp'),
    ]);
    expect(tableAfter('## Drifted features')).toEqual([
      row('applications', 'income', '0.500'),
      row('loans', 'amount', '0.210'),
    ]);
    // No state store given: those sections say so, and the warnings name it.
    expect(r.markdown).toContain('## Tickets\n\n_Not available: no state store._');
    expect(r.warnings).toEqual(['no state store']);
  });

  it('says so for a window no model exports', async () => {
    const r = await buildReport({
      period: periodEnding(END, 3 * DAY, '3d'),
      prometheus: prometheusClient(url, 10_000),
    });
    expect(r.markdown).toContain(
      `## Model performance\n\n_From Prometheus at ${url}._\n\n_No mlwatch_model_auc or mlwatch_model_mae series with window="3d"._`,
    );
    // In the 3 days before the end only income's 1d window (0.5, a day before) went above the threshold;
    // loans/amount did 3 days and an hour before.
    expect(r.markdown).toContain(`${row('applications', 'income', '0.500')}\n\n## Tickets`);
  });

  it('mlwatch report prints it (exit 0), from the CLI', () => {
    const file = join(dir, 'cli.yaml');
    writeFileSync(
      file,
      `warehouse: { url: 'pglite:memory' }\nstate: { url: 'pglite:memory' }\nreport: { prometheus_url: '${url}' }\n`,
    );
    const r = runCli(['report', '--config', file, '--at', END.toISOString()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(row('churn', 'v3', 'AUC', '0.800', '0.700', '-0.100', 'worse'));
    // An embedded state store of its own has no tables: a warning, and the sections say why.
    expect(r.stderr).toContain('warning: the state store has no mlwatch tables yet');
    expect(r.stdout).toContain('## Rollbacks\n\n_Not available: the state store has no mlwatch tables yet');
  });
});

describe('without Prometheus', () => {
  it('renders every section with a note, and the CLI warns and exits 0', async () => {
    const down = await closedPortUrl();
    const r = await buildReport({
      period: periodEnding(END, 7 * DAY, '7d'),
      prometheus: prometheusClient(down, 2000),
    });
    const note = `_Not available: cannot reach Prometheus at ${down} (ECONNREFUSED)._`;
    expect(r.markdown).toContain(`## Model performance\n\n${note}`);
    expect(r.markdown).toContain(`## Label coverage\n\n${note}`);
    expect(r.markdown).toContain(`## Drifted features`);
    expect(r.markdown.split(note).length - 1).toBe(3);
    expect(r.warnings).toContain(`cannot reach Prometheus at ${down} (ECONNREFUSED)`);

    const none = await buildReport({ period: periodEnding(END, 7 * DAY, '7d') });
    expect(none.markdown).toContain(`## Model performance\n\n_Not available: ${NO_PROMETHEUS}._`);

    const file = join(dir, 'down.yaml');
    writeFileSync(file, `warehouse: { url: 'pglite:memory' }\nreport: { prometheus_url: '${down}' }\n`);
    // The command shows the values now instead (from the warehouse: this config has no checks) and says why.
    const cli = runCli(['report', '--config', file, '--since', '7d']);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain(
      `_Now, from the warehouse. Before, Change and Trend need Prometheus's history: cannot reach Prometheus at ${down} (ECONNREFUSED)._`,
    );
    expect(cli.stderr).toContain(
      `warning: cannot reach Prometheus at ${down} (ECONNREFUSED): the model and data sections show the values now, from the warehouse (the config has no checks)`,
    );
    const bad = runCli(['report', '--config', file, '--since', 'a week']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("--since: 'a week' is not a duration; write it like 7d or 24h");
  });
});

// ---- The state store: tickets, retrains and rollbacks counted in [START, END). ----

let db: TestDb;
let state: StateDb;
let other: StateDb;
let schema: string;

beforeAll(async () => {
  db = await openTestDb();
  schema = `${db.schema}_state`;
  const open = () =>
    db.kind === 'pg'
      ? openStateDb({ url: db.url as string, applicationName: 'mlwatch-test', connectTimeoutMs: 5000 })
      : pgliteStateDb(db.pglite as NonNullable<TestDb['pglite']>, false);
  state = open();
  other = open();
  await migrate(state, `"${schema}"`);
});
afterAll(async () => {
  await state?.transaction((tx) => tx.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
  await state?.close();
  await other?.close();
  await db?.close();
});

const d = (ms: number) => new Date(ms);
const inPeriod = (t: number | null) => t !== null && t >= S && t < E;

describe('activity sections from the state store', () => {
  const tickets = [
    { team: 'data-science', layer: 'model', opened: S + DAY, resolved: S + 2 * DAY },
    { team: 'data-science', layer: 'model', opened: S - DAY, resolved: S + 3 * DAY },
    { team: 'data-science', layer: 'model', opened: S + 4 * DAY, resolved: null },
    { team: 'platform', layer: 'data', opened: E - HOUR, resolved: null },
    { team: 'platform', layer: 'data', opened: S - 2 * DAY, resolved: S - DAY },
    { team: null, layer: null, opened: S, resolved: E },
    { team: 'business', layer: 'business', opened: E, resolved: null },
  ];
  const requests = [
    { model: 'churn', reason: 'alert', at: S + HOUR, state: 'dispatched' },
    { model: 'churn', reason: 'alert', at: S + 2 * DAY, state: 'pending' },
    { model: 'churn', reason: 'cadence', at: S - HOUR, state: 'dispatched' },
    { model: 'eta', reason: 'cadence', at: S + 3 * DAY, state: 'dispatched' },
  ];
  // Deduplicated triggers: [request index, received at].
  const deduplicated: [number, number][] = [
    [0, S + HOUR + 600_000],
    [1, S + 2 * DAY + 300_000],
    [2, S + 1_800_000],
    [2, S - 1_800_000],
  ];
  const rollbacks = [
    { model: 'churn', state: 'executed', at: S + DAY },
    { model: 'churn', state: 'rejected', at: S + 2 * DAY },
    { model: 'eta', state: 'pending', at: E - HOUR },
    { model: 'eta', state: 'expired', at: S - DAY },
  ];

  beforeAll(async () => {
    await state.transaction(async (tx) => {
      for (const [i, t] of tickets.entries()) {
        await tx.query(
          `INSERT INTO "${schema}".tickets (fingerprint, starts_at, alertname, team, layer, state, labels,
             annotations, opened_at, resolved_at)
           VALUES ($1, $2, 'X', $3, $4, $5, '{}', '{}', $2, $6)`,
          [
            `f${i}`,
            d(t.opened),
            t.team,
            t.layer,
            t.resolved ? 'resolved' : 'open',
            t.resolved && d(t.resolved),
          ],
        );
      }
      const ids: number[] = [];
      for (const r of requests) {
        const [x] = await tx.query(
          `INSERT INTO "${schema}".retrain_requests (model, reason, detail, requested_at, next_attempt_at, state)
           VALUES ($1, $2, '{}', $3, $3, $4) RETURNING id`,
          [r.model, r.reason, d(r.at), r.state],
        );
        ids.push(Number(x?.id));
        await tx.query(`INSERT INTO "${schema}".retrain_triggers VALUES ($1, $2, $3, $4, 'requested', $5)`, [
          `k${ids.length}`,
          r.model,
          r.reason,
          x?.id,
          d(r.at),
        ]);
      }
      for (const [j, [i, at]] of deduplicated.entries()) {
        const r = requests[i] as (typeof requests)[number];
        await tx.query(
          `INSERT INTO "${schema}".retrain_triggers VALUES ($1, $2, $3, $4, 'deduplicated', $5)`,
          [`dup${j}`, r.model, r.reason, ids[i], d(at)],
        );
      }
      for (const r of rollbacks) {
        await tx.query(
          `INSERT INTO "${schema}".rollback_requests (model, to_version, reason, requested_by, state, created_at,
             expires_at) VALUES ($1, 'v1', 'test', 'ann', $2, $3, $3)`,
          [r.model, r.state, d(r.at)],
        );
      }
    });
  });

  it('counts what happened in the period, by team and layer, model and reason, model and state', async () => {
    const r = await buildReport({
      period: periodEnding(END, 7 * DAY, '7d'),
      state: { db: state, schemaSql: `"${schema}"` },
    });
    // The expected rows, counted here from the rows inserted above.
    const group = <T, K extends string>(xs: T[], key: (x: T) => K) => {
      const m = new Map<K, T[]>();
      for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
      return [...m].sort(([a], [b]) => (a < b ? -1 : 1));
    };
    const ticketRows = group(tickets, (t) => `${t.team ?? ''}\u0000${t.layer ?? ''}` as string)
      .map(([k, ts]) => {
        const [team, layer] = k.split('\u0000') as [string, string];
        return [
          team || '—',
          layer || '—',
          ts.filter((t) => inPeriod(t.opened)).length,
          ts.filter((t) => inPeriod(t.resolved)).length,
        ] as const;
      })
      .filter(([, , o, c]) => o + c > 0)
      .map(([a, b, o, c]) => row(a, b, String(o), String(c)));
    expect(ticketRows).toEqual([
      row('—', '—', '1', '0'),
      row('data-science', 'model', '2', '2'),
      row('platform', 'data', '1', '0'),
    ]);
    expect(r.markdown).toContain(
      ['| Team | Layer | Opened | Resolved |', '| --- | --- | --- | --- |', ...ticketRows].join('\n'),
    );

    const retrainRows = group(
      [
        ...requests.map((x, i) => ({ ...x, i })),
        ...deduplicated.map(([i, at]) => ({ ...(requests[i] as (typeof requests)[number]), at, i: -1 })),
      ],
      (x) => `${x.model}/${x.reason}`,
    )
      .map(([k, xs]) => {
        const [model, reason] = k.split('/') as [string, string];
        const reqs = xs.filter((x) => x.i >= 0 && inPeriod(x.at));
        const dups = xs.filter((x) => x.i < 0 && inPeriod(x.at));
        return { model, reason, reqs, dups };
      })
      .filter((x) => x.reqs.length + x.dups.length > 0)
      .map((x) =>
        row(
          x.model,
          x.reason,
          String(x.reqs.length),
          String(x.reqs.filter((q) => q.state === 'pending').length),
          String(x.dups.length),
        ),
      );
    expect(retrainRows).toEqual([
      row('churn', 'alert', '2', '1', '2'),
      row('churn', 'cadence', '0', '0', '1'),
      row('eta', 'cadence', '1', '0', '0'),
    ]);
    expect(r.markdown).toContain(retrainRows.join('\n'));

    const rollbackRows = group(
      rollbacks.filter((x) => inPeriod(x.at)),
      (x) => `${x.model}/${x.state}`,
    ).map(([k, xs]) => row(...(k.split('/') as [string, string]), String(xs.length)));
    expect(rollbackRows).toEqual([
      row('churn', 'executed', '1'),
      row('churn', 'rejected', '1'),
      row('eta', 'pending', '1'),
    ]);
    expect(r.markdown).toContain(
      ['| Model | State | Requests |', '| --- | --- | --- |', ...rollbackRows].join('\n'),
    );
    expect(r.warnings).toEqual([NO_PROMETHEUS]);
  });

  it('says so for an empty period and for a store without tables', async () => {
    const empty = await buildReport({
      period: periodEnding(new Date(S - 30 * DAY), 7 * DAY, '7d'),
      state: { db: state, schemaSql: `"${schema}"` },
    });
    expect(empty.markdown).toContain('## Tickets\n\n_No ticket opened or resolved._');
    expect(empty.markdown).toContain('## Retraining requests\n\n_No retraining requested._');
    expect(empty.markdown).toContain('## Rollbacks\n\n_No rollback requested._');
    const bare = await buildReport({
      period: periodEnding(END, 7 * DAY, '7d'),
      state: { db: state, schemaSql: `"${schema}_none"` },
    });
    expect(bare.markdown).toContain(
      '## Tickets\n\n_Not available: the state store has no mlwatch tables yet (`mlwatch serve` creates them at start)._',
    );
  });
});

describe('the weekly cadence', () => {
  it('keeps one report and posts it once when two replicas tick; retries a failed post', async () => {
    const sink = await webhookSink();
    const down = await closedPortUrl();
    const config = {
      prometheus_url: down,
      cron: '0 8 * * 1',
      webhook: `${sink.url}/review`,
      headers: { authorization: 'Bearer t' },
      timeout: 2000,
    };
    // The replicas' clock is the test's: a failed post is due again when the test moves it past the backoff,
    // not when 120 ms of real time have passed (on a slow store, a round that took longer than the 50 ms backoff
    // claimed its own failed post again and made one call too many).
    let clock = new Date(E + 17_000);
    const replica = (db: StateDb) =>
      new ReportService({
        db,
        schema,
        log,
        isReady: () => true,
        now: () => clock,
        backoffMs: 50,
        backoffCapMs: 50,
      });
    const a = replica(state);
    const b = replica(other);
    a.configure(config);
    b.configure(config);
    try {
      const tickAt = clock; // a cron tick arrives a little after its minute
      const ids = await Promise.all([a.tick(tickAt), b.tick(tickAt)]);
      expect(ids.filter((x) => x !== undefined)).toHaveLength(1);
      await Promise.all([a.dispatchDue(), b.dispatchDue()]);
      await a.dispatchDue();
      expect(sink.calls).toHaveLength(1);
      const call = sink.calls[0] as (typeof sink.calls)[number];
      expect(call.path).toBe('/review');
      expect(call.headers['idempotency-key']).toBe(`mlwatch-report-${END.toISOString()}`);
      expect(call.headers.authorization).toBe('Bearer t');
      expect(call.body.period).toEqual({ start: START.toISOString(), end: END.toISOString() });
      const markdown = String(call.body.markdown);
      expect(markdown).toContain(`_Not available: cannot reach Prometheus at ${down} (ECONNREFUSED)._`);
      // The activity sections are still there, from the store.
      expect(markdown).toContain(row('churn', 'alert', '2', '1', '2'));
      const latest = await a.reports.latest();
      expect(latest?.markdown).toBe(markdown);
      expect(latest?.state).toBe('dispatched');

      // The next week, the webhook fails once: the report stays pending and goes out on the retry, once.
      sink.status = 503;
      const next = new Date(E + 7 * DAY);
      clock = next;
      expect(await b.tick(next)).toBeDefined();
      await b.dispatchDue();
      expect(sink.calls).toHaveLength(2);
      expect((await a.reports.latest())?.state).toBe('pending');
      sink.status = 200;
      clock = new Date(next.getTime() + 1000); // past the backoff (50 ms, ±10 %)
      await Promise.all([a.dispatchDue(), b.dispatchDue()]);
      expect(sink.calls).toHaveLength(3);
      expect(sink.calls[2]?.headers['idempotency-key']).toBe(`mlwatch-report-${next.toISOString()}`);
      expect((await a.reports.latest())?.state).toBe('dispatched');
    } finally {
      await a.stop();
      await b.stop();
      await sink.close();
    }
  });

  it('counts failed posts and the reviews waiting for the webhook (mlwatch_report_post_*)', async () => {
    const sink = await webhookSink();
    sink.status = 503;
    const own = `${schema}_posts`;
    await migrate(state, `"${own}"`);
    const registry = new Registry();
    // The test's clock, moved past the backoff by backoff() below (as in the test above).
    let clock = new Date(E + 5_000);
    const service = new ReportService({
      db: state,
      schema: own,
      log,
      isReady: () => true,
      now: () => clock,
      backoffMs: 50,
      backoffCapMs: 50,
    });
    service.register(registry);
    service.configure({
      prometheus_url: await closedPortUrl(),
      cron: '0 8 * * 1',
      webhook: `${sink.url}/review`,
      timeout: 2000,
    });
    const metrics = async () => {
      const m = parseExposition(await registry.metrics());
      return [
        sampleValue(m, 'mlwatch_report_post_pending'),
        sampleValue(m, 'mlwatch_report_post_failures_total'),
      ];
    };
    // The row as stored, read on the test's own connection (not through the code under test).
    const stored = () =>
      db.writer.query(`SELECT state, attempts, failures, last_error FROM "${own}".reports`);
    const backoff = () => {
      clock = new Date(clock.getTime() + 1000); // past the backoff (50 ms, ±10 %)
    };
    try {
      expect(await metrics()).toEqual([0, 0]);
      expect(await service.tick(clock)).toBeDefined();
      await service.dispatchDue(); // the attempt the tick started
      expect(sink.calls).toHaveLength(1);
      expect(await metrics()).toEqual([1, 1]);
      backoff();
      await service.dispatchDue();
      expect(sink.calls).toHaveLength(2);
      expect(await metrics()).toEqual([1, 2]);
      expect(await stored()).toEqual([
        {
          state: 'pending',
          attempts: 2,
          failures: 2,
          last_error: 'HTTP 503: retraining service unavailable',
        },
      ]);

      // The webhook is back: the retry goes out, nothing waits, the failures stay counted.
      sink.status = 200;
      backoff();
      await service.dispatchDue();
      expect(sink.calls).toHaveLength(3);
      expect(await metrics()).toEqual([0, 2]);
      expect((await stored())[0]).toMatchObject({ state: 'dispatched', attempts: 3, failures: 2 });
    } finally {
      await service.stop();
      await sink.close();
      await state.transaction((tx) => tx.query(`DROP SCHEMA IF EXISTS "${own}" CASCADE`));
    }
  });

  it('serves the last report at /api/v1/reports/latest from a running exporter', async () => {
    // The sink refuses the first post and accepts every later one: the failures are known. Refusing every post
    // until the test saw one (as this did) let a loaded machine refuse one report three times before the flip, and
    // its fourth try waited out a 40 s backoff past the wait below.
    const sink = await webhookSink();
    sink.next = [503];
    const down = await closedPortUrl();
    const file = join(dir, 'serve.yaml');
    const stateUrl = db.kind === 'pg' ? (db.url as string) : 'pglite:memory';
    // timeout: 30s, not 2s: a post the sink answered but the exporter gave up on (a loaded machine) would be a
    // failure the test cannot count from the sink. Prometheus is a closed port: the build does not wait on it.
    // One dataset, a quarter of its 1d rows without an amount: without Prometheus, the kept review shows this
    // exporter's own values now.
    await db.writer.exec(`CREATE TABLE ${db.schema}.served_events AS
      SELECT now() - i * interval '1 minute' AS at, CASE WHEN i % 4 = 0 THEN NULL ELSE i END AS amount
      FROM generate_series(1, 40) i`);
    writeFileSync(
      file,
      `warehouse: { url: '${db.configUrl}' }\nstate: { url: '${stateUrl}', schema: ${schema}_serve }\n` +
        `report: { prometheus_url: '${down}', cron: '*/2 * * * * *', webhook: '${sink.url}', timeout: 30s }\n` +
        `datasets:\n  - name: served_events\n    table: ${db.schema}.served_events\n    timestamp: at\n` +
        `    checks: { nulls: { columns: [amount], window: 1d } }\n${ACCESS_YAML}`,
    );
    let served: Served | undefined;
    try {
      served = await startCli(['serve', '--config', file, '--port', '0', '--host', '127.0.0.1']);
      const url = `${served.url}/api/v1/reports/latest`;
      // A review every 2 s: one built before the first check ran says no check has run yet (a loaded machine);
      // wait for one built after it.
      const { res, text } = await waitFor(
        async () => {
          const r = await fetch(url, { headers: VIEWER_HEADERS });
          if (r.status !== 200) return undefined;
          const body = await r.text();
          return body.includes('no check of this exporter has run yet') ? undefined : { res: r, text: body };
        },
        // The review is kept once per minute (its period ends at the tick's minute): one built in the minute the
        // exporter started, before the first check ran, stands until the next minute's. So the wait is up to a
        // minute plus the start and a build: alone it took 15 to 42 s; under a CI run's PGlite pass it once went
        // past 60 s. 90 s covers the minute and 30 s of start and build.
        90_000,
        'a kept report built after the first check ran',
      );
      expect(res.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
      expect(text).toMatch(/^# mlwatch weekly review: /);
      expect(text).toContain(`cannot reach Prometheus at ${down}`);
      // Its sections fall back on this exporter's values now: on PostgreSQL the null ratio, 10 of 40; the CLI's
      // own pglite:memory has no such table, and the review names the check that failed there instead.
      expect(text).toContain('_Now, from this exporter.');
      if (db.kind === 'pg') expect(text).toMatch(/\| served_events \| [^\n]*amount[^\n]*25(\.0)? ?%/);
      else expect(text).toContain('`dataset:served_events:scan` (relation');
      await waitFor(() => sink.calls.length > 0, 20_000, 'the first post');
      const failed = 1;
      const key = (c: (typeof sink.calls)[number]) => c.headers['idempotency-key'];
      const refused = sink.calls.slice(0, failed).map(key);
      // The exporter posts the refused report again after its backoff (10 s ±10 %, at its next 5 s poll). Then no
      // report waits, and the failures counted are the one refused post: none means a failure not counted, two a
      // success counted, or the failure counted twice (the counter never comes back down to match).
      let last: (number | undefined)[] = [];
      await waitFor(
        async () => {
          const m = parseExposition(await (await fetch(`${served?.url}/metrics`)).text());
          last = [
            sampleValue(m, 'mlwatch_report_post_pending'),
            sampleValue(m, 'mlwatch_report_post_failures_total'),
          ];
          return last[0] === 0 && last[1] === failed;
        },
        45_000,
        `mlwatch_report_post_pending 0 and mlwatch_report_post_failures_total ${failed}`,
        () => `[pending, failures] last scraped: ${JSON.stringify(last)}`,
      );
      // Each kept report, the one served above among them, was accepted once: the refused one on a retry, the
      // others on their first post (the ticks within a minute keep, and post, the minute's report once).
      const keys = sink.calls.map(key);
      const accepted = keys.slice(failed);
      expect(new Set(accepted).size).toBe(accepted.length);
      expect(accepted).toEqual(expect.arrayContaining(refused));
      expect(keys).toContain(`mlwatch-report-${res.headers.get('x-report-period-end')}`);
    } finally {
      await served?.stop('SIGKILL');
      await sink.close();
      if (db.kind === 'pg') await db.writer.exec(`DROP SCHEMA IF EXISTS ${schema}_serve CASCADE`);
    }
    // The waits above in turn (90 s, 20 s, 45 s), and the exporter's start.
  }, 180_000);
});
