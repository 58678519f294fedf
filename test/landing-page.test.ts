import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadedConfig, loadConfigText } from '../src/config/load.js';
import { percent, score } from '../src/http/landing/format.js';
import { ALERTS_TIMEOUT_MS } from '../src/http/landing/prometheus-alerts.js';
import type { Running } from '../src/runtime/serve.js';
import { firingAlert, STALE_LABELS } from './helpers/alerts.js';
import { ACCESS_YAML, bearer, TOKENS, VIEWER_HEADERS, WEBHOOK_HEADERS } from './helpers/credentials.js';
import { sampleValue } from './helpers/exposition.js';
import { aucLowAlert, closedPort, fakePrometheus, type PromAlert } from './helpers/fake-prometheus.js';
import { card, pageText } from './helpers/landing.js';
import { modelEntry, serveOn, useServedFixture } from './helpers/served.js';
import { scrape, waitFor } from './helpers/wait.js';

// The landing page through a served exporter over HTTP (in-process `mlwatch serve`, the test database as the
// warehouse and the state store), with a stand-in for Prometheus' alerts API: the values on it are the checks'
// results, the alerts are Prometheus', and the tickets and requests are shown as the viewer role allows.

const served = useServedFixture('landing', { modelTables: true });
const ALICE = 'tok-alice-landing';
const sha = (t: string) => createHash('sha256').update(t).digest('hex');

const ALERTS: PromAlert[] = [
  aucLowAlert('The AUC of credit <b>fell</b>.', 'https://runbooks.example/MlwatchModelAucLow', 12, '5e-01'),
  {
    labels: {
      alertname: 'MlwatchDatasetNullRatioHigh',
      severity: 'warning',
      layer: 'data',
      team: 'data-science',
      dataset: 'apps',
      column: 'income',
    },
    annotations: { summary: 'Too many NULLs.', runbook_url: 'javascript:alert(1)' },
    state: 'firing',
    activeAt: new Date(Date.now() - 3 * 60_000).toISOString(),
    value: '2.5e-01',
  },
  {
    labels: { alertname: 'MlwatchModelLabelDelayHigh', severity: 'warning', layer: 'model', model: 'credit' },
    annotations: {},
    state: 'pending',
    activeAt: new Date().toISOString(),
    value: '1',
  },
  // Another system's alert on a shared Prometheus: not the landing page's business.
  {
    labels: { alertname: 'NodeFilesystemAlmostFull', severity: 'critical', instance: 'db1' },
    annotations: { summary: 'Disk almost full.' },
    state: 'firing',
    activeAt: new Date().toISOString(),
    value: '1',
  },
];

let prom: Awaited<ReturnType<typeof fakePrometheus>>;
let r: Running;
let current: LoadedConfig;

/** `clients`: more `access.clients` entries, as YAML lines. */
function configWith(prometheusUrl: string, clients = ''): LoadedConfig {
  const { schema } = served.db;
  const text = [
    `warehouse: { url: '${served.db.configUrl}', statement_timeout: 10s }`,
    `state: { url: '${served.stateUrl}', schema: ${schema}_landing }`,
    'defaults: { interval: 1h }',
    'datasets:',
    `  - name: apps`,
    `    table: ${schema}.apps`,
    '    timestamp: at',
    '    checks:',
    '      freshness: {}',
    '      nulls: { columns: [income, age], window: 1h }',
    'models:',
    served.qualify(
      modelEntry(
        'credit',
        'windows: [1d, 14d]',
        `retrain: { webhook: '${served.sink.url}/retrain' }`,
        `rollback: { webhook: '${served.sink.url}/rollback' }`,
      ),
    ),
    'approvers:',
    `  - { name: alice, role: engineering, token_sha256: ${sha(ALICE)} }`,
    `report: { prometheus_url: '${prometheusUrl}' }`,
    ACCESS_YAML + clients,
  ].join('\n');
  return loadConfigText(text, 'landing.yaml', {}, '/');
}

async function page(headers: Record<string, string> = {}) {
  const started = Date.now();
  const res = await fetch(`http://127.0.0.1:${r.port}/`, { headers });
  return { status: res.status, headers: res.headers, html: await res.text(), ms: Date.now() - started };
}

beforeAll(async () => {
  const { writer, schema } = served.db;
  // 20 applications in the last hour, income NULL in every fourth: 5 of 20, a null ratio of 0.25.
  await writer.exec(`CREATE TABLE ${schema}.apps (id int, at timestamptz, income numeric, age int);
    INSERT INTO ${schema}.apps
      SELECT i, now() - make_interval(mins => i), CASE WHEN i % 4 = 0 THEN NULL ELSE 1000 + i END, 30 + i
        FROM generate_series(1, 20) AS i;
    -- Four predictions two days old (inside 14d, none inside 1d), labelled a day later. Positives score 0.9 and
    -- 0.1, negatives 0.8 and 0.3: 2 of the 4 positive-negative pairs are ordered right, an AUC of 0.5.
    INSERT INTO ${schema}.preds VALUES
      (1, now() - interval '2 days', 0.9), (2, now() - interval '2 days', 0.8),
      (3, now() - interval '2 days', 0.3), (4, now() - interval '2 days', 0.1);
    INSERT INTO ${schema}.outcomes VALUES
      (1, now() - interval '1 day', 1), (2, now() - interval '1 day', 0),
      (3, now() - interval '1 day', 0), (4, now() - interval '1 day', 1);`);
  prom = await fakePrometheus(ALERTS);
  current = configWith(prom.url);
  // Not the fixture's serve(), which shuts its exporters down after each test: this one serves the whole file.
  r = await serveOn(served.db, current, {
    loadAgain: () => current,
    retrain: { pollMs: 50, backoffMs: 60_000, backoffCapMs: 60_000, refreshMs: 100 },
    rollback: { pollMs: 50, refreshMs: 100 },
  });
  await r.exporter.firstRound();
});

afterAll(async () => {
  await r?.shutdown();
  await prom?.close();
});

describe('the landing page, served', () => {
  it("shows each check's key values, equal to what the check exported", async () => {
    const { status, html } = await page();
    expect(status).toBe(200);
    const m = await scrape(`http://127.0.0.1:${r.port}`);

    const scan = card(html, 'dataset:apps:scan');
    const nullRatio = sampleValue(m, 'mlwatch_dataset_null_ratio', { dataset: 'apps', column: 'income' });
    expect(nullRatio).toBe(0.25);
    expect(scan?.state).toBe('ok');
    expect(scan?.values.get('NULL income')).toEqual({ value: percent(nullRatio), flag: 'over 5 %' });
    expect(percent(nullRatio)).toBe('25 %');
    // Only the column over the line is listed: age has no NULL.
    expect(scan?.values.has('NULL age')).toBe(false);
    expect(scan?.values.get('newest row')?.value).toMatch(/^\d+ (s|min)( \d+ s)? old$/);
    expect(scan?.meta).toMatch(
      /^every 1h · last run (just now|\d+ s ago) · took (\d+ ms|\d+\.\d s) · 4 series$/,
    );

    const perf = card(html, 'model:credit:performance');
    const auc = sampleValue(m, 'mlwatch_model_auc', { model: 'credit', window: '14d' });
    expect(auc).toBe(0.5);
    expect(perf?.values.get('AUC 14d')).toEqual({ value: score(auc), flag: 'under 0.65' });
    // The 1d window has no prediction: its skipped series are counted and explained.
    const noLabels = sampleValue(m, 'mlwatch_check_skipped_samples', {
      check: 'model:credit:performance',
      reason: 'no_labels',
    });
    expect(noLabels).toBeGreaterThan(0);
    expect(perf?.skipped).toContain(
      `${noLabels} not exported: no labelled predictions in the window yet: the metrics that need labels wait for them no_labels`,
    );

    const labels = card(html, 'model:credit:labels');
    expect(labels?.values.get('labelled 14d')?.value).toBe(
      percent(
        sampleValue(m, 'mlwatch_model_labeled_predictions', { model: 'credit', window: '14d' }) /
          sampleValue(m, 'mlwatch_model_predictions', { model: 'credit', window: '14d' }),
      ),
    );
    expect(labels?.values.get('labelled 14d')?.value).toBe('100 %');

    // The summary counts the checks with a value past its line (the scan and the performance check).
    expect(pageText(html)).toContain('2 with a value past its line');
    // Those come right after failing ones: before every unmarked check.
    expect(html.indexOf('id="check-dataset:apps:scan"')).toBeLessThan(
      html.indexOf('id="check-model:credit:labels"'),
    );
    expect(html.indexOf('id="check-model:credit:performance"')).toBeLessThan(
      html.indexOf('id="check-model:credit:labels"'),
    );
  });

  it("lists mlwatch's firing alerts from Prometheus, escaped, and asks Prometheus at most once per 10 s", async () => {
    const before = prom.calls();
    const { html } = await page();
    await page();
    expect(prom.calls() - before).toBeLessThanOrEqual(1);
    const text = pageText(html);
    expect(text).toContain(`2 firing in ${prom.url}. 1 more pending (waiting out their for).`);
    expect(text).toContain('critical MlwatchModelAucLow model=credit window=14d');
    expect(text).toContain('team data-science · since 12 min ago · runbook');
    expect(html).toContain('<a href="https://runbooks.example/MlwatchModelAucLow">runbook</a>');
    // A summary is text, never markup; a javascript: runbook is no link.
    expect(html).toContain('The AUC of credit &lt;b&gt;fell&lt;/b&gt;.');
    expect(html).not.toContain('javascript:');
    // Critical first; another system's alert is left out.
    expect(text.indexOf('MlwatchModelAucLow')).toBeLessThan(text.indexOf('MlwatchDatasetNullRatioHigh'));
    expect(text).not.toContain('NodeFilesystemAlmostFull');
  });

  it('shows counts to anyone and the tickets and requests only to the viewer role', async () => {
    served.sink.status = 500; // the retraining service fails: the request stays pending
    const ticket = firingAlert({
      labels: { ...STALE_LABELS, dataset: 'apps' },
      annotations: { runbook_url: 'https://runbooks.example/MlwatchDatasetStale' },
      fingerprint: 'landing-stale',
    })();
    const base = `http://127.0.0.1:${r.port}`;
    const posted = await fetch(`${base}/api/v1/alerts`, {
      method: 'POST',
      headers: WEBHOOK_HEADERS,
      body: JSON.stringify({ version: '4', status: 'firing', receiver: 'ticketing', alerts: [ticket] }),
    });
    expect(posted.status).toBe(200);
    const rollback = await fetch(`${base}/api/v1/rollbacks`, {
      method: 'POST',
      headers: { ...bearer(ALICE), 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'credit', to_version: 'v1', reason: 'AUC fell with <v2>' }),
    });
    expect(rollback.status).toBe(201);
    const retrain = await fetch(`${base}/api/v1/retrain`, {
      method: 'POST',
      headers: WEBHOOK_HEADERS,
      body: JSON.stringify({
        version: '4',
        status: 'firing',
        receiver: 'retraining',
        alerts: [
          firingAlert({
            labels: { alertname: 'MlwatchModelAucLow', model: 'credit', action: 'retrain' },
            fingerprint: 'landing-retrain',
          })(),
        ],
      }),
    });
    expect(retrain.status).toBe(200);
    await waitFor(
      async () => (await r.retrain.log.list({ state: 'pending' }))[0]?.failures === 1,
      10_000,
      'a failed dispatch',
    );

    // Anyone who may open the page (here: everyone, as /metrics) sees the gauges' counts, not the items.
    const anonymous = await waitFor(
      async () => {
        const p = await page();
        return pageText(p.html).includes('1 retraining request not yet sent') ? p : undefined;
      },
      10_000,
      'the retrain gauge',
    );
    const open = pageText(anonymous.html);
    expect(open).toContain('1 open ticket 1 rollback awaiting approval 0 rollbacks approved, not yet run');
    expect(open).toContain('for the viewer role');
    for (const hidden of ['MlwatchDatasetStale', 'AUC fell with', '/api/v1/rollbacks/'])
      expect(open).not.toContain(hidden);
    const m = await scrape(base);
    expect(sampleValue(m, 'mlwatch_tickets', { state: 'open', team: 'platform', layer: 'data' })).toBe(1);
    expect(sampleValue(m, 'mlwatch_rollback_requests', { state: 'pending' })).toBe(1);

    // A credential without the viewer role (the webhook's) gets the counts only too.
    expect(pageText((await page(bearer(TOKENS.webhook))).html)).not.toContain('MlwatchDatasetStale');

    const viewer = await page(VIEWER_HEADERS);
    const text = pageText(viewer.html);
    expect(text).toContain('critical #1 MlwatchDatasetStale dataset=apps');
    expect(text).toMatch(/opened (just now|\d+ (s|min) ago) · with platform · not acknowledged · runbook/);
    expect(viewer.html).toContain('<a href="/api/v1/rollbacks/1">#1</a> credit → v1');
    expect(viewer.html).toContain('AUC fell with &lt;v2&gt;');
    expect(text).toMatch(
      /requested by alice (just now|\d+ s ago) · waiting for engineering and product approval, expires in 23 h/,
    );
    expect(text).toMatch(
      /#\d+ credit alert requested (just now|\d+ s ago) · 1 failed attempt, next in \d+ (s|min)/,
    );
    expect(viewer.html).toContain('href="/api/v1/retrain/requests?model=credit&amp;state=pending"');
    // What a viewer sees is not for shared caches, and the page runs no script whatever slips through.
    expect(viewer.headers.get('cache-control')).toBe('no-store');
    expect(viewer.headers.get('content-security-policy')).toMatch(
      /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; /,
    );
  });

  it('refuses a wrong credential instead of showing the open page', async () => {
    const res = await page(bearer('not-a-token'));
    expect(res.status).toBe(401);
    expect(res.html).not.toContain('<html');
  });

  it('says when Prometheus cannot be reached, and answers within the timeout when it hangs', async () => {
    current = configWith(`http://127.0.0.1:${await closedPort()}`);
    expect(await r.reload()).toEqual({ ok: true });
    const down = pageText((await page()).html);
    expect(down).toMatch(
      /Prometheus at http:\/\/127\.0\.0\.1:\d+ cannot be reached: ECONNREFUSED\. The checks below are current/,
    );
    // The checks' values are still there.
    expect(down).toContain('NULL income 25 % over 5 %');

    const hanging = await fakePrometheus();
    hanging.state.hang = true;
    try {
      current = configWith(hanging.url);
      expect(await r.reload()).toEqual({ ok: true });
      const slow = await page();
      expect(pageText(slow.html)).toContain(
        `cannot be reached: no answer within ${ALERTS_TIMEOUT_MS / 1000} s`,
      );
      expect(slow.ms).toBeGreaterThanOrEqual(ALERTS_TIMEOUT_MS - 100);
      expect(slow.ms).toBeLessThan(ALERTS_TIMEOUT_MS + 1500);
    } finally {
      await hanging.close();
    }
  });

  it('tells a viewer the state store is down, and everyone that the counts may be old', async () => {
    const down = await served.serveStoreDown(ACCESS_YAML);
    const url = `http://127.0.0.1:${down.port}/`;
    const viewer = pageText(await (await fetch(url, { headers: VIEWER_HEADERS })).text());
    expect(viewer).toContain('The state store is not ready: the counts below may be missing or old.');
    expect(viewer).toMatch(/The lists cannot be shown: the state store is not ready: .+\./);
    const anyone = pageText(await (await fetch(url)).text());
    expect(anyone).toContain('The state store is not ready');
    // The store's error (it may name hosts) is the viewer's only, as the API's 503 body is.
    expect(anyone).not.toContain('The lists cannot be shown');
  });

  it('offers a browser to sign in as a viewer when the web config has basic-auth users', async () => {
    const web = join(mkdtempSync(join(tmpdir(), 'mlwatch-landing-')), 'web.yml');
    const hash = bcrypt.hashSync('pw', 4);
    writeFileSync(web, `basic_auth_users:\n  pager: '${hash}'\n  prometheus: '${hash}'\n`);
    const signIn = await served.serve(configWith(prom.url, '    - { name: pager, roles: [viewer] }\n'), {
      webConfigFile: web,
    });
    const url = `http://127.0.0.1:${signIn.port}`;
    const basic = (user: string) => ({
      authorization: `Basic ${Buffer.from(`${user}:pw`).toString('base64')}`,
    });
    // Signed in without the role: the counts, and the way to the role.
    const scraper = await (await fetch(`${url}/`, { headers: basic('prometheus') })).text();
    expect(scraper).toContain('<a href="/?as=viewer">sign in as a viewer</a> to list them here');
    // /?as=viewer asks the browser for a password, and takes only the viewer role.
    const ask = await fetch(`${url}/?as=viewer`);
    expect([ask.status, ask.headers.get('www-authenticate')]).toEqual([
      401,
      'Basic realm="mlwatch", charset="UTF-8"',
    ]);
    expect((await fetch(`${url}/?as=viewer`, { headers: basic('prometheus') })).status).toBe(403);
    const viewer = await (await fetch(`${url}/?as=viewer`, { headers: basic('pager') })).text();
    expect(pageText(viewer)).toContain('Open tickets');
    expect(viewer).not.toContain('sign in as a viewer');
  });
});
