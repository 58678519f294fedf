import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { HANDOFF_SUBJECT_LABELS } from '../src/actions/tickets/ticket-handoff.js';
import {
  ALERTMANAGER_BIN,
  AM_CONFIG,
  AM_DIR,
  AMTOOL,
  amtool,
  amtoolRoutes,
  COMPOSE_URL_DIR,
  INSTALL_CURRENT,
  type MountedConfig,
  RECEIVERS,
  type Receiver,
  type RunningAlertmanager,
  readRoutesTable,
  shortenWaits,
  startAlertmanager,
  TOKEN_FILE,
  URL_DIR,
  urlFileOf,
  webhooksOf,
  writeAlertmanagerConfig,
} from './helpers/alertmanager.js';

// The Alertmanager bundle: config structure and the receivers' URL files with Node alone; routing, templates,
// url_file and inhibition with amtool 0.28 and a real Alertmanager 0.28 when they are installed (CI installs
// them: scripts/install-stack-deps.sh runs scripts/install-prometheus3.sh). Without them those blocks are
// skipped, and their names say why. Debian 12's 0.25 cannot load the config: it has no webhook url_file.
const NO_AMTOOL = AMTOOL ? '' : ` [skipped: no amtool 0.28 in .cache/prometheus-current; ${INSTALL_CURRENT}]`;
const NO_SERVER = ALERTMANAGER_BIN
  ? ''
  : ` [skipped: no Alertmanager 0.28 in .cache/prometheus-current; ${INSTALL_CURRENT}]`;

const TESTS_DIR = join(AM_DIR, 'tests');
const GOLDEN_DIR = join(TESTS_DIR, 'golden');
const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === '1';
// CI compares with the golden files; rewriting them there would make every render pass.
if (UPDATE_GOLDEN && process.env.CI)
  throw new Error('UPDATE_GOLDEN=1 is refused under CI: update the golden files locally and review them');
const tmp = mkdtempSync(join(tmpdir(), 'mlwatch-am-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Labels = Record<string, string>;

function urlsFor(base: string): Record<Receiver, string> {
  return Object.fromEntries(RECEIVERS.map((r) => [r, `${base}/${r}`])) as Record<Receiver, string>;
}

/** Every key of a parsed YAML tree, with its path. */
function keysOf(node: unknown, path = ''): string[] {
  if (Array.isArray(node)) return node.flatMap((v, i) => keysOf(v, `${path}[${i}]`));
  if (node && typeof node === 'object') {
    return Object.entries(node).flatMap(([k, v]) => [`${path}.${k}`, ...keysOf(v, `${path}.${k}`)]);
  }
  return [];
}

describe('alertmanager.yml structure', () => {
  const config = parse(readFileSync(AM_CONFIG, 'utf8'));

  it('has exactly the five receivers plus a null receiver that notifies no one, as the root default', () => {
    const names = config.receivers.map((r: { name: string }) => r.name);
    expect([...names].sort()).toEqual([...RECEIVERS, 'null'].sort());
    expect(config.receivers.find((r: { name: string }) => r.name === 'null')).toEqual({ name: 'null' });
    expect(config.route.receiver).toBe('null');
    for (const receiver of RECEIVERS) {
      const r = config.receivers.find((x: { name: string }) => x.name === receiver);
      expect(Object.keys(r).sort(), receiver).toEqual(['name', 'webhook_configs']);
      expect(r.webhook_configs, receiver).toHaveLength(1);
    }
  });

  it('routes only to defined receivers and uses matchers, never the deprecated match/match_re', () => {
    const names = new Set(config.receivers.map((r: { name: string }) => r.name));
    const walk = (route: { receiver?: string; routes?: unknown[] }): void => {
      if (route.receiver) expect(names.has(route.receiver), route.receiver).toBe(true);
      for (const child of (route.routes ?? []) as (typeof route)[]) walk(child);
    };
    walk(config.route);
    const deprecated = keysOf(config).filter((k) =>
      /\.(match|match_re|source_match|source_match_re|target_match|target_match_re)$/.test(k),
    );
    expect(deprecated).toEqual([]);
  });

  it('reads every webhook URL from its file in /run/secrets/mlwatch-alertmanager, never inline', () => {
    // The directory docs/alertmanager.md, docker-compose.yml and the Kubernetes Secret's keys are written for.
    expect(URL_DIR).toBe('/run/secrets/mlwatch-alertmanager');
    const hooks = webhooksOf(readFileSync(AM_CONFIG, 'utf8'));
    for (const receiver of RECEIVERS) {
      const [hook] = hooks.get(receiver) ?? [];
      // Absolute: Alertmanager resolves a relative url_file against its working directory, not the config's.
      expect(hook?.url_file, receiver).toBe(urlFileOf(receiver));
      expect(hook?.url, receiver).toBeUndefined();
    }
    // The token of mlwatch's own endpoints comes from a file of the same secrets directory.
    for (const receiver of ['ticketing', 'retraining']) {
      expect(hooks.get(receiver)?.[0]?.http_config?.authorization?.credentials_file, receiver).toBe(
        TOKEN_FILE,
      );
    }
  });

  it("has development URL files for Compose: mlwatch's own endpoints, and .invalid placeholders for the bridges", () => {
    // docker-compose.yml mounts secrets/mlwatch-alertmanager at /run/secrets/mlwatch-alertmanager: a file per
    // receiver, no other (a stray file would be a receiver nobody routes to, or a misspelt name).
    expect(readdirSync(COMPOSE_URL_DIR).sort()).toEqual(RECEIVERS.map((r) => `${r}-url`).sort());
    const url = (r: Receiver) => new URL(readFileSync(join(COMPOSE_URL_DIR, `${r}-url`), 'utf8').trim());
    expect(url('ticketing').href).toBe('http://mlwatch:10027/api/v1/alerts');
    expect(url('retraining').href).toBe('http://mlwatch:10027/api/v1/retrain');
    for (const human of ['platform-oncall', 'data-science', 'business-analysts'] as const) {
      expect(url(human).hostname, human).toBe(`${human}.alert-bridge.invalid`);
    }
  });

  it("compares the alert contract's subject labels, and the replica where a replica's alert is silenced", () => {
    type Inhibit = { source_matchers: string[]; equal?: string[] };
    const rules = config.inhibit_rules as Inhibit[];
    const from = (source: string) => rules.find((r) => r.source_matchers.includes(source))?.equal;
    // d) the subjects a hand-off carries too (one list: ticket-handoff.ts), never `version`; none of them a label
    // Prometheus or a ServiceMonitor sets on the target (`job`, `service`, ...): those would collide.
    const subjects = HANDOFF_SUBJECT_LABELS.filter((l) => l !== 'version');
    expect([...(from('severity="critical"') ?? [])].sort()).toEqual(['alertname', ...subjects].sort());
    for (const target of ['job', 'instance', 'service', 'namespace', 'pod', 'container', 'endpoint'])
      expect(subjects, target).not.toContain(target);
    // a) and b): one replica's outage silences that replica's alerts only.
    for (const source of ['alertname="MlwatchExporterDown"', 'alertname="MlwatchWarehouseUnreachable"'])
      expect(from(source), source).toEqual(['cluster', 'namespace', 'job', 'instance']);
  });

  it('has a routes table of at least 12 rows that reaches every receiver and the null default', () => {
    const rows = readRoutesTable();
    expect(rows.length).toBeGreaterThanOrEqual(12);
    const reached = new Set(rows.flatMap((r) => r.receivers.split(',')));
    expect([...reached].sort()).toEqual([...RECEIVERS, 'null'].sort());
  });
});

describe(`amtool: config, routes and templates${NO_AMTOOL}`, () => {
  const skip = !AMTOOL;

  it.skipIf(skip)('check-config accepts the config and loads the template file', () => {
    const r = amtool(['check-config', AM_CONFIG]);
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
    expect(r.stdout).toContain(' - 4 inhibit rules');
    expect(r.stdout).toContain(' - 6 receivers');
    expect(r.stdout).toContain(' - 1 templates');
  });

  it.skipIf(skip)('check-config accepts the copy with its URL files and token mounted', () => {
    const { file } = writeAlertmanagerConfig({
      urls: urlsFor('http://127.0.0.1:9'),
      dir: join(tmp, 'mounted'),
      token: 'test-token',
    });
    const r = amtool(['check-config', file]);
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(' - 6 receivers');
    expect(r.stdout).toContain(' - 1 templates');
  });

  it.skipIf(skip)('check-config refuses a webhook with both url and url_file', () => {
    // What an operator gets who adds an inline `url:` next to the file instead of writing the file.
    const file = join(tmp, 'both.yml');
    writeFileSync(
      file,
      readFileSync(AM_CONFIG, 'utf8').replace(
        `- url_file: "${urlFileOf('data-science')}"`,
        `- url_file: "${urlFileOf('data-science')}"\n        url: "http://127.0.0.1:9/inline"`,
      ),
    );
    const r = amtool(['check-config', file]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('at most one of url & url_file must be configured');
  });

  const rows = skip ? [] : readRoutesTable();
  it.skipIf(skip).each(rows.map((r) => [`routes.tsv:${r.line} ${r.why}`, r] as const))('%s', (_name, row) => {
    const r = amtoolRoutes(AM_CONFIG, row.receivers, row.labels);
    expect({ code: r.code, receivers: r.receivers }).toEqual({ code: 0, receivers: row.receivers });
  });

  it.skipIf(skip).each([
    [
      'info routed to ticketing',
      'ticketing',
      ['alertname=X', 'severity=info', 'layer=system', 'team=platform'],
    ],
    [
      'critical retrain without its page',
      'ticketing,data-science,retraining',
      ['alertname=X', 'severity=critical', 'layer=model', 'team=data-science', 'action=retrain'],
    ],
    ['warning that pages', 'ticketing,platform-oncall', ['alertname=X', 'severity=warning', 'team=platform']],
    [
      'a model page straight to data science, as before hand-offs',
      'ticketing,platform-oncall,data-science,retraining',
      [
        'alertname=MlwatchModelAucLow',
        'severity=critical',
        'layer=model',
        'team=data-science',
        'action=retrain',
      ],
    ],
    [
      'a hand-off ticketed a second time',
      'ticketing,data-science',
      [
        'alertname=MlwatchTicketHandedOff',
        'severity=warning',
        'layer=model',
        'team=data-science',
        'ticket=7',
      ],
    ],
  ])('a wrong expectation fails: %s', (_name, receivers, labels) => {
    const r = amtoolRoutes(AM_CONFIG, receivers, labels);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain('Expected receivers did not match resolved receivers');
  });

  const data = readdirSync(join(TESTS_DIR, 'data')).filter((f) => f.endsWith('.json'));
  const cases = data.flatMap((file) =>
    ['title', 'body'].map((t) => [file.replace(/\.json$/, ''), t] as const),
  );
  it.skipIf(skip).each(cases)('template mlwatch.%s renders %s as in the golden file', (name, template) => {
    const r = amtool([
      'template',
      'render',
      `--template.glob=${join(AM_DIR, 'templates', '*.tmpl')}`,
      `--template.text={{ template "mlwatch.${template}" . }}`,
      `--template.data=${join(TESTS_DIR, 'data', `${name}.json`)}`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const golden = join(GOLDEN_DIR, `${name}.${template}.txt`);
    if (UPDATE_GOLDEN) writeFileSync(golden, r.stdout);
    expect(existsSync(golden), `${golden} is missing; run with UPDATE_GOLDEN=1 and review it`).toBe(true);
    expect(r.stdout).toBe(readFileSync(golden, 'utf8'));
  });

  it.skipIf(skip)('titles follow "[FIRING:n] alertname (layer/team)"', () => {
    expect(readFileSync(join(GOLDEN_DIR, 'firing.title.txt'), 'utf8')).toBe(
      '[FIRING:2] MlwatchCheckFailing (system/platform)',
    );
    expect(readFileSync(join(GOLDEN_DIR, 'resolved.title.txt'), 'utf8')).toBe(
      '[RESOLVED] MlwatchKpiDrop (business/business)',
    );
  });
});

interface AmAlert {
  labels: Labels;
  fingerprint: string;
  status: { state: string; inhibitedBy: string[]; silencedBy: string[] };
}

/** An alert of a scenario: its id (also its summary), its labels and whom it must be inhibited by. */
interface Case {
  id: string;
  labels: Labels;
  inhibitedBy?: string;
}

const platform = (alertname: string, severity: string, extra: Labels = {}): Labels => ({
  alertname,
  severity,
  layer: 'system',
  team: 'platform',
  ...extra,
});
const data = (alertname: string, extra: Labels): Labels => ({
  alertname,
  severity: 'warning',
  layer: 'data',
  team: 'platform',
  depends_on: 'warehouse',
  ...extra,
});
const model = (extra: Labels): Labels => ({
  alertname: 'MlwatchModelAucLow',
  severity: 'warning',
  layer: 'model',
  team: 'data-science',
  model: 'credit_scoring',
  action: 'retrain',
  depends_on: 'warehouse',
  ...extra,
});

// Two replicas of the exporter, as Prometheus labels their series (and the alerts the rules make of them).
const replicaA: Labels = { namespace: 'ml', job: 'mlwatch', instance: '10.0.0.5:10027' };
const replicaB: Labels = { namespace: 'ml', job: 'mlwatch', instance: '10.0.0.6:10027' };

const SCENARIOS: Record<string, Case[]> = {
  'a) the exporter is down: everything that depends on it or on the warehouse': [
    { id: 'exporter-down', labels: platform('MlwatchExporterDown', 'critical', replicaA) },
    {
      id: 'warehouse-unreachable',
      labels: platform('MlwatchWarehouseUnreachable', 'critical', { ...replicaA, depends_on: 'exporter' }),
      inhibitedBy: 'exporter-down',
    },
    {
      id: 'check-failing',
      labels: platform('MlwatchCheckFailing', 'warning', {
        ...replicaA,
        check: 'query:orders',
        depends_on: 'warehouse',
      }),
      inhibitedBy: 'exporter-down',
    },
    {
      id: 'reload-failed',
      labels: platform('MlwatchConfigReloadFailed', 'warning', { ...replicaA, depends_on: 'exporter' }),
      inhibitedBy: 'exporter-down',
    },
    {
      id: 'kpi-no-depends-on',
      labels: { ...platform('MlwatchKpiDrop', 'warning', replicaA), layer: 'business' },
    },
  ],
  // Inhibition a has `equal: [cluster, namespace, job, instance]`: without it, one dead replica silenced every
  // dependent alert of every other replica too, while they were up and right.
  'a) one of two replicas is down: only its own dependents are silenced': [
    { id: 'exporter-down-a', labels: platform('MlwatchExporterDown', 'critical', replicaA) },
    {
      id: 'check-failing-a',
      labels: platform('MlwatchCheckFailing', 'warning', {
        ...replicaA,
        check: 'query:orders',
        depends_on: 'warehouse',
      }),
      inhibitedBy: 'exporter-down-a',
    },
    {
      id: 'reload-failed-a',
      labels: platform('MlwatchConfigReloadFailed', 'warning', { ...replicaA, depends_on: 'exporter' }),
      inhibitedBy: 'exporter-down-a',
    },
    // The other replica's alerts about the same check and its own config still reach their receivers.
    {
      id: 'check-failing-b',
      labels: platform('MlwatchCheckFailing', 'warning', {
        ...replicaB,
        check: 'query:orders',
        depends_on: 'warehouse',
      }),
    },
    {
      id: 'reload-failed-b',
      labels: platform('MlwatchConfigReloadFailed', 'warning', { ...replicaB, depends_on: 'exporter' }),
    },
    // The same job and address in another namespace (another deployment, e.g. staging) is another target.
    {
      id: 'check-failing-a-staging',
      labels: platform('MlwatchCheckFailing', 'warning', {
        ...replicaA,
        namespace: 'ml-staging',
        check: 'query:orders',
        depends_on: 'warehouse',
      }),
    },
    // Counted over the replicas (two of them run one check: they cannot share it): no instance either.
    {
      id: 'not-shared',
      labels: platform('MlwatchCheckNotShared', 'warning', {
        namespace: 'ml',
        job: 'mlwatch',
        check: 'query:orders',
        depends_on: 'exporter',
      }),
    },
    // Aggregated over the replicas (the state store's backlog): no instance, so no single replica silences it.
    {
      id: 'forward-failing',
      labels: platform('MlwatchTicketForwardFailing', 'critical', {
        namespace: 'ml',
        job: 'mlwatch',
        depends_on: 'exporter',
      }),
    },
  ],
  'b) the warehouse is unreachable: only what depends on the warehouse': [
    {
      id: 'warehouse-unreachable',
      labels: platform('MlwatchWarehouseUnreachable', 'critical', { ...replicaA, depends_on: 'exporter' }),
    },
    {
      id: 'check-failing',
      labels: platform('MlwatchCheckFailing', 'warning', {
        ...replicaA,
        check: 'query:orders',
        depends_on: 'warehouse',
      }),
      inhibitedBy: 'warehouse-unreachable',
    },
    {
      id: 'check-stale',
      labels: platform('MlwatchCheckStale', 'warning', {
        ...replicaA,
        check: 'query:orders',
        depends_on: 'warehouse',
      }),
      inhibitedBy: 'warehouse-unreachable',
    },
    {
      id: 'reload-failed',
      labels: platform('MlwatchConfigReloadFailed', 'warning', { ...replicaA, depends_on: 'exporter' }),
    },
    // Inhibition b compares the replica too: another replica that reaches the warehouse reports a real failure.
    {
      id: 'check-failing-b',
      labels: platform('MlwatchCheckFailing', 'warning', {
        ...replicaB,
        check: 'query:orders',
        depends_on: 'warehouse',
      }),
    },
  ],
  'c) a stale dataset: data, model and KPI alerts of that dataset only': [
    { id: 'stale-a', labels: data('MlwatchDatasetStale', { dataset: 'a' }) },
    {
      id: 'nulls-a',
      labels: data('MlwatchDatasetNullRatioHigh', { dataset: 'a', column: 'income' }),
      inhibitedBy: 'stale-a',
    },
    { id: 'nulls-b', labels: data('MlwatchDatasetNullRatioHigh', { dataset: 'b', column: 'income' }) },
    { id: 'auc-a', labels: model({ dataset: 'a' }), inhibitedBy: 'stale-a' },
    // Model alerts as the rules send them: `dataset` joined from mlwatch_model_info when the model's config
    // names it. A critical one (it would page) and one without `action` are silenced alike; another
    // dataset's model, and a model that names none, are not.
    {
      id: 'auc-crit-a',
      labels: model({
        model: 'credit_limit',
        dataset: 'a',
        window: '14d',
        version: 'v2',
        severity: 'critical',
      }),
      inhibitedBy: 'stale-a',
    },
    {
      id: 'leakage-a',
      labels: {
        alertname: 'MlwatchModelLabelLeakage',
        severity: 'warning',
        layer: 'model',
        team: 'data-science',
        depends_on: 'warehouse',
        model: 'credit_scoring',
        dataset: 'a',
      },
      inhibitedBy: 'stale-a',
    },
    { id: 'auc-b', labels: model({ model: 'fraud', dataset: 'b', window: '14d' }) },
    { id: 'auc-no-dataset', labels: model({ model: 'churn' }) },
    {
      id: 'kpi-a',
      labels: { ...data('MlwatchKpiBelowBaseline', { dataset: 'a', kpi: 'approvals' }), layer: 'business' },
      inhibitedBy: 'stale-a',
    },
    {
      id: 'kpi-b',
      labels: { ...data('MlwatchKpiBelowBaseline', { dataset: 'b', kpi: 'approvals' }), layer: 'business' },
    },
    // A KPI whose config names no dataset: we cannot know it depends on the stale one.
    {
      id: 'kpi-no-dataset',
      labels: {
        ...data('MlwatchKpiSuddenDrop', { kpi: 'conversion' }),
        layer: 'business',
        severity: 'critical',
      },
    },
    { id: 'stale-c', labels: data('MlwatchDatasetStale', { dataset: 'c' }) },
    // A malformed stale alert without `dataset` must not silence the data/model alerts that lack it too.
    { id: 'stale-no-dataset', labels: data('MlwatchDatasetStale', { instance: 'x' }) },
  ],
  'd) a critical alert silences the warning of the same alertname and subject': [
    {
      id: 'crit-x',
      labels: platform('MlwatchCheckFailing', 'critical', { check: 'x', depends_on: 'warehouse' }),
    },
    {
      id: 'warn-x',
      labels: platform('MlwatchCheckFailing', 'warning', { check: 'x', depends_on: 'warehouse' }),
      inhibitedBy: 'crit-x',
    },
    {
      id: 'warn-y',
      labels: platform('MlwatchCheckFailing', 'warning', { check: 'y', depends_on: 'warehouse' }),
    },
    {
      id: 'stale-x',
      labels: platform('MlwatchCheckStale', 'warning', { check: 'x', depends_on: 'warehouse' }),
    },
    {
      id: 'drift-crit',
      labels: { ...data('MlwatchFeatureDrift', { dataset: 'a', feature: 'age' }), severity: 'critical' },
    },
    { id: 'drift-other-feature', labels: data('MlwatchFeatureDrift', { dataset: 'a', feature: 'income' }) },
    // Batch jobs are the subject `job_name`; `job` is the scrape job, the same on every job alert.
    {
      id: 'burn-crit-pipeline',
      labels: platform('MlwatchJobErrorBudgetBurn', 'critical', {
        job: 'mlwatch',
        job_name: 'feature_pipeline',
        depends_on: 'warehouse',
      }),
    },
    {
      id: 'burn-warn-pipeline',
      labels: platform('MlwatchJobErrorBudgetBurn', 'warning', {
        job: 'mlwatch',
        job_name: 'feature_pipeline',
        depends_on: 'warehouse',
      }),
      inhibitedBy: 'burn-crit-pipeline',
    },
    {
      id: 'burn-warn-nightly',
      labels: platform('MlwatchJobErrorBudgetBurn', 'warning', {
        job: 'mlwatch',
        job_name: 'nightly_report',
        depends_on: 'warehouse',
      }),
    },
  ],
};

describe(`inhibition in a real Alertmanager${NO_SERVER}`, () => {
  const skip = !ALERTMANAGER_BIN;
  let am: RunningAlertmanager | undefined;
  let recorder: Server | undefined;
  /** Each notification with the scenario that was running when it arrived (ids repeat across scenarios). */
  const notifications: {
    path: string;
    scenario: string;
    body: { alerts?: { status: string; labels: Labels }[] };
  }[] = [];
  let scenario = '';

  beforeAll(async () => {
    if (skip) return;
    recorder = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        notifications.push({ path: req.url ?? '', scenario, body: JSON.parse(body || '{}') });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => recorder?.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
    // The webhooks that carry mlwatch's token read it from a file; without one they could never deliver.
    const { file } = writeAlertmanagerConfig({
      urls: urlsFor(base),
      dir: join(tmp, 'am-live'),
      token: 'test-token',
    });
    // Notifications within seconds, so each scenario can wait for its active alerts to be delivered and then
    // check that no inhibited one was: without them, "nothing inhibited was sent" would hold trivially.
    shortenWaits(file);
    am = await startAlertmanager(file);
  });

  afterAll(async () => {
    await am?.stop();
    await new Promise<void>((resolve) => (recorder ? recorder.close(() => resolve()) : resolve()));
  });

  async function post(alerts: { labels: Labels; annotations?: Labels; endsAt?: string }[]) {
    const res = await fetch(`${am?.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alerts),
      signal: AbortSignal.timeout(5_000),
    });
    expect(res.status, await res.text()).toBe(200);
  }

  async function list(): Promise<AmAlert[]> {
    const res = await fetch(`${am?.url}/api/v2/alerts`, { signal: AbortSignal.timeout(5_000) });
    expect(res.status).toBe(200);
    return (await res.json()) as AmAlert[];
  }

  const sameLabels = (a: Labels, b: Labels) =>
    Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

  /** Polls (at most `timeoutMs`) until what Alertmanager reports equals `expected`; returns the last view. */
  async function settle<T>(view: () => Promise<T>, expected: T, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last = await view();
    while (JSON.stringify(last) !== JSON.stringify(expected) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      last = await view();
    }
    return last;
  }

  it.skipIf(skip).each(Object.entries(SCENARIOS))('%s', async (name, cases) => {
    scenario = name;
    const expected = Object.fromEntries(
      cases.map((c) => [c.id, c.inhibitedBy ? `suppressed by ${c.inhibitedBy}` : 'active']),
    );
    await post(cases.map((c) => ({ labels: c.labels, annotations: { summary: c.id } })));

    const view = async () => {
      const alerts = await list();
      const idOf = new Map<string, string>();
      const states: Record<string, string> = {};
      for (const c of cases) {
        const a = alerts.find((x) => sameLabels(x.labels, c.labels));
        if (a) idOf.set(a.fingerprint, c.id);
      }
      for (const c of cases) {
        const a = alerts.find((x) => sameLabels(x.labels, c.labels));
        if (!a) states[c.id] = 'missing';
        else if (a.status.state === 'active' && a.status.inhibitedBy.length === 0) states[c.id] = 'active';
        else if (a.status.state === 'suppressed' && a.status.silencedBy.length === 0) {
          states[c.id] = `suppressed by ${a.status.inhibitedBy.map((fp) => idOf.get(fp) ?? fp).join(',')}`;
        } else states[c.id] = `${a.status.state} ${JSON.stringify(a.status)}`;
      }
      const strangers = alerts.filter((a) => !cases.some((c) => sameLabels(a.labels, c.labels)));
      if (strangers.length > 0) states.unexpected = JSON.stringify(strangers.map((a) => a.labels));
      return states;
    };
    try {
      expect(await settle(view, expected)).toEqual(expected);
      // Every active warning or critical alert reaches a receiver (ticketing at least) within the 1 s waits;
      // once they all have, a further group interval passes, and no suppressed alert may have been sent.
      const firingIds = () =>
        new Set(
          notifications.flatMap((n) =>
            (n.body.alerts ?? [])
              .filter((a) => a.status === 'firing')
              .flatMap((a) => cases.filter((c) => sameLabels(c.labels, a.labels)).map((c) => c.id)),
          ),
        );
      const delivered = cases.filter(
        (c) => !c.inhibitedBy && ['warning', 'critical'].includes(c.labels.severity ?? ''),
      );
      expect(delivered.length, 'a scenario with an alert that must be delivered').toBeGreaterThan(0);
      const missing = () => delivered.filter((c) => !firingIds().has(c.id)).map((c) => c.id);
      expect(await settle(async () => missing(), [])).toEqual([]);
      await new Promise((r) => setTimeout(r, 2_000));
      expect(
        cases.filter((c) => c.inhibitedBy && firingIds().has(c.id)).map((c) => c.id),
        'inhibited alerts that were sent',
      ).toEqual([]);
    } finally {
      // Resolve the scenario so the next one starts from an empty Alertmanager.
      const past = new Date(Date.now() - 1_000).toISOString();
      await post(cases.map((c) => ({ labels: c.labels, endsAt: past })));
      const remaining = async () => (await list()).map((a) => a.labels.alertname);
      expect(await settle(remaining, [])).toEqual([]);
    }
  });

  it.skipIf(skip)('notified no receiver of an inhibited alert', () => {
    // Every scenario waited for its active alerts to be sent: no firing notification may include a suppressed
    // alert. (A resolution may: when a group that was notified resolves, Alertmanager sends every resolved alert
    // of the group, the ones it held back included.)
    const sent = notifications.flatMap((n) =>
      (n.body.alerts ?? []).map((a) => `${n.path} ${a.status} ${a.labels.alertname}`),
    );
    for (const n of notifications) {
      expect(RECEIVERS.map((r) => `/${r}`)).toContain(n.path);
      for (const a of (n.body.alerts ?? []).filter((x) => x.status === 'firing')) {
        const c = SCENARIOS[n.scenario]?.find((x) => sameLabels(x.labels, a.labels));
        expect(c, `a firing alert no scenario posted: ${JSON.stringify(a.labels)}`).toBeDefined();
        expect(c?.inhibitedBy, `${n.scenario}: ${c?.id} was sent\n${sent.join('\n')}`).toBeUndefined();
      }
    }
    expect(notifications.length).toBeGreaterThan(0);
    expect(am?.logs() ?? '').not.toMatch(/level=error/);
  });
});

// The receivers' URLs come from files (url_file), read by Alertmanager when it notifies: these check that a real
// Alertmanager 0.28 posts each receiver's notifications to the URL in that receiver's file, reads the file again
// for every notification, and what a missing file does (docs/alertmanager.md, "Set the receivers' endpoints").
describe(`url_file in a real Alertmanager${NO_SERVER}`, () => {
  const skip = !ALERTMANAGER_BIN;
  let am: RunningAlertmanager | undefined;
  let recorder: Server | undefined;
  let mounted: MountedConfig | undefined;
  let base = '';
  /** Each notification: the path it was posted to, the receiver it names, and its alerts' names. */
  const received: { path: string; receiver: string; alertnames: string[] }[] = [];

  beforeAll(async () => {
    if (skip) return;
    recorder = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        const msg = JSON.parse(body || '{}') as { receiver?: string; alerts?: { labels: Labels }[] };
        received.push({
          path: req.url ?? '',
          receiver: msg.receiver ?? '',
          alertnames: (msg.alerts ?? []).map((a) => a.labels.alertname ?? ''),
        });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => recorder?.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
    // A path of its own in each receiver's file: the path a notification reaches says which file it was read from.
    const urls = Object.fromEntries(RECEIVERS.map((r) => [r, `${base}/${r}/v1`])) as Record<Receiver, string>;
    mounted = writeAlertmanagerConfig({ urls, dir: join(tmp, 'url-file'), token: 'test-token' });
    shortenWaits(mounted.file);
    am = await startAlertmanager(mounted.file);
  });

  afterAll(async () => {
    await am?.stop();
    await new Promise<void>((resolve) => (recorder ? recorder.close(() => resolve()) : resolve()));
  });

  async function post(alerts: Labels[]) {
    const res = await fetch(`${am?.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alerts.map((labels) => ({ labels }))),
      signal: AbortSignal.timeout(5_000),
    });
    expect(res.status, await res.text()).toBe(200);
  }

  /** Polls `check` until it holds, at most `timeoutMs`; fails with `what` and what was received. */
  async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) {
        throw new Error(
          `${what} within ${timeoutMs} ms; received ${JSON.stringify(received)}\n${am?.logs()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const reached = (path: string, alertname: string) =>
    received.some((n) => n.path === path && n.alertnames.includes(alertname));

  /** alertmanager_notifications_failed_total of the webhook integration, summed over its other labels. */
  async function failedWebhooks(): Promise<number> {
    const text = await (await fetch(`${am?.url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    return [...text.matchAll(/^alertmanager_notifications_failed_total\{([^}]*)\} (\S+)$/gm)]
      .filter((m) => (m[1] ?? '').includes('integration="webhook"'))
      .reduce((sum, m) => sum + Number(m[2]), 0);
  }

  it.skipIf(skip)('posts each receiver to the URL in its own file', async () => {
    // routes.tsv: a critical business retrain alert reaches ticketing, platform-oncall, business-analysts and
    // retraining; a data-science warning reaches ticketing and data-science. Together, all five.
    await post([
      {
        alertname: 'UrlFileAll',
        severity: 'critical',
        layer: 'business',
        team: 'data-science',
        action: 'retrain',
      },
      { alertname: 'UrlFileDs', severity: 'warning', layer: 'model', team: 'data-science' },
    ]);
    const expected: [Receiver, string][] = [
      ['ticketing', 'UrlFileAll'],
      ['ticketing', 'UrlFileDs'],
      ['platform-oncall', 'UrlFileAll'],
      ['business-analysts', 'UrlFileAll'],
      ['retraining', 'UrlFileAll'],
      ['data-science', 'UrlFileDs'],
    ];
    await until('every receiver notified at its URL', () =>
      expected.every(([r, alertname]) => reached(`/${r}/v1`, alertname)),
    );
    // And never at another receiver's: the path a notification reached is the one its receiver's file holds.
    for (const n of received) expect(n.path, n.receiver).toBe(`/${n.receiver}/v1`);
  });

  it.skipIf(skip)('reads the file for every notification: a new URL needs no reload', async () => {
    writeFileSync((mounted as MountedConfig).urlFile['platform-oncall'], `${base}/platform-oncall/v2\n`);
    await post([{ alertname: 'UrlFileMoved', severity: 'critical', layer: 'system', team: 'platform' }]);
    await until('the page at the new URL', () => reached('/platform-oncall/v2', 'UrlFileMoved'));
    expect(reached('/platform-oncall/v1', 'UrlFileMoved')).toBe(false);
    // Loaded once, at the start: the new URL came from the file, not from a reload.
    expect(am?.logs().match(/Loading configuration file/g)).toHaveLength(1);
  });

  it.skipIf(skip || !AMTOOL)(
    "a missing URL file passes check-config, then fails that receiver's notifications, naming the file",
    async () => {
      const missing = (mounted as MountedConfig).urlFile['data-science'];
      unlinkSync(missing);
      // Not a config error: amtool and Alertmanager load the config without reading the file.
      const check = amtool(['check-config', (mounted as MountedConfig).file]);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      const failedBefore = await failedWebhooks();
      await post([
        { alertname: 'UrlFileMissing', severity: 'warning', layer: 'model', team: 'data-science' },
      ]);
      // The other receivers of the alert still get it: a missing file fails its own receiver only.
      await until('the ticket', () => reached('/ticketing/v1', 'UrlFileMissing'));
      await until('the error naming the file in the log', () =>
        (am?.logs() ?? '').includes(`read url_file: open ${missing}: no such file or directory`),
      );
      expect(am?.logs()).toMatch(/data-science\/webhook\[0\]: notify retry canceled[^\n]*read url_file/);
      expect(await failedWebhooks()).toBeGreaterThan(failedBefore);
      expect(
        received.filter((n) => n.receiver === 'data-science' && n.alertnames.includes('UrlFileMissing')),
      ).toEqual([]);
    },
  );
});
