import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { DEFAULT_BUNDLE_CONFIG } from '../bundle/config.js';
import { parseBundleConfig } from '../bundle/load.js';
import { renderBundle } from '../bundle/render.js';
import { RULES_DIR, RULES_SOURCE_DIR, renderRuleText } from '../bundle/rules.js';
import { knownMetrics, lintDashboards, readCommittedDashboards } from '../tools/dashboard-lint.js';
import { bundleProblems } from './helpers/bundle-config.js';
import { ROOT } from './helpers/cli.js';
import { toolOnPath } from './helpers/tools.js';

// The bundle config (bundle/config.ts, docs/bundle.md): the checked-in rule files, dashboards and Kubernetes files
// are its default render, and a config of one's own changes every environment value and still passes promtool
// and kubectl kustomize.

const REGENERATE = 'run `npm run bundle` and commit the result';
const promtool = toolOnPath('promtool');
const kubectl = toolOnPath('kubectl');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

const bundleCli = (...args: string[]) =>
  spawnSync(TSX, ['scripts/gen-bundle.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });

describe('the checked-in bundle', () => {
  const rendered = renderBundle(DEFAULT_BUNDLE_CONFIG, { target: 'repository' });

  it(`is the default config's render (else ${REGENERATE})`, () => {
    expect(rendered.length).toBeGreaterThan(10);
    // alertmanager.yml is rendered from alertmanager/src with the owners and kept labels, and the
    // AlertmanagerConfig converted from that render: both are held to it too.
    expect(rendered.map((r) => r.file)).toEqual(
      expect.arrayContaining(['alertmanager/alertmanager.yml', 'deploy/kubernetes/alertmanager-config.yaml']),
    );
    for (const { file, text } of rendered) {
      expect(readFileSync(join(ROOT, file), 'utf8'), `${file} is stale: ${REGENERATE}`).toBe(text);
    }
  });

  it('has no rule file without a source in prometheus/src (Prometheus loads every rules/*.yml)', () => {
    const checkedIn = readdirSync(join(ROOT, RULES_DIR)).filter((f) => f.endsWith('.yml'));
    const fromSources = rendered.filter((r) => r.file.startsWith(`${RULES_DIR}/`)).map((r) => r.file);
    expect(checkedIn.map((f) => `${RULES_DIR}/${f}`).sort()).toEqual(fromSources.sort());
  });

  it('the rule sources name the environment by placeholder only', () => {
    const dir = join(ROOT, RULES_SOURCE_DIR);
    for (const f of readdirSync(dir)) {
      const text = readFileSync(join(dir, f), 'utf8');
      expect(text, f).not.toContain(DEFAULT_BUNDLE_CONFIG.runbook_base_url);
      expect(text, f).not.toContain(DEFAULT_BUNDLE_CONFIG.grafana_url);
      expect(text, f).not.toMatch(/\bjob\s*=~?\s*"mlwatch"/);
      // Every alert's owner is the bundle config's (owners.<layer>.team), never a team written in.
      const teams = [...text.matchAll(/^\s+team:\s*(.*)$/gm)].map((m) => m[1]);
      expect(teams.length, f).toBeGreaterThan(0);
      for (const team of teams) expect(team, f).toMatch(/^\$\{owners\.(system|data|model|business)\.team\}$/);
    }
  });

  it('alertmanager/src names the owners and the kept labels by placeholder only', () => {
    const text = readFileSync(join(ROOT, 'alertmanager/src/alertmanager.yml'), 'utf8');
    const routing = text
      .split('\n')
      .filter((l) => !/^\s*#/.test(l))
      .join('\n');
    expect(routing).not.toMatch(/platform-oncall|business-analysts|receiver: data-science|data-science-url/);
    expect(routing).not.toMatch(/team="(platform|data-science|business)"/);
    expect(routing).not.toContain('[cluster, namespace, job, instance]');
  });
});

describe('the bundle config file', () => {
  const problems = bundleProblems;

  it('is the defaults when empty, and takes each key on its own', () => {
    expect(parseBundleConfig('', 'x.yaml')).toEqual(DEFAULT_BUNDLE_CONFIG);
    expect(parseBundleConfig('{"job": "ml-exporter"}', 'x.json')).toEqual({
      ...DEFAULT_BUNDLE_CONFIG,
      job: 'ml-exporter',
    });
  });

  it('names the file, the line, the key and the fix', () => {
    expect(problems('job: mlwatch\ngrafana_ulr: https://grafana.example.com\n')).toEqual([
      "my-bundle.yaml:2 grafana_ulr: unknown key; did you mean 'grafana_url'?",
    ]);
    expect(
      problems(
        'job: \'ml "exporter"\'\ngrafana_url: https://grafana.example.com/\nrunbook_base_url: https://runbooks.example.com/x\n',
      ),
    ).toEqual([
      'my-bundle.yaml:1 job: expected a job label value: letters, digits, and _ . : - (such as mlwatch or ml-exporter)',
      'my-bundle.yaml:2 grafana_url: drop the trailing /: alerts append /d/<dashboard uid> to it',
      'my-bundle.yaml:3 runbook_base_url: end it with /: an alert appends <AlertName>.md to it',
    ]);
    expect(problems('grafana_url: grafana.example.com\n')[0]).toMatch(
      /^my-bundle\.yaml:1 grafana_url: expected an http\(s\) URL .* such as https:\/\/grafana\.example\.com/,
    );
    expect(problems('- job\n')).toEqual(['my-bundle.yaml:1: expected a mapping (key: value), got a list']);
    expect(problems('job: [\n')[0]).toMatch(/^my-bundle\.yaml:\d+: YAML syntax error/);
  });

  it('an unknown placeholder in a rule source is an error at its line', () => {
    expect(() => renderRuleText('a: 1\nb: ${jobb}\n', DEFAULT_BUNDLE_CONFIG, 'prometheus/src/x.yml')).toThrow(
      /^prometheus\/src\/x\.yml:2: unknown placeholder \$\{jobb\}; the bundle config has \$\{job\}/,
    );
  });

  it('npm run bundle refuses a config without --out, and a bad config without a stack trace', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'mlwatch-bundle-cli-'));
    try {
      const file = join(tmp, 'my-bundle.yaml');
      writeFileSync(file, 'job: ml-exporter\n');
      const noOut = bundleCli('--config', file);
      expect(noOut.status).toBe(2);
      expect(noOut.stderr).toMatch(/needs --out DIR: the checked-in files are the defaults' render/);
      writeFileSync(file, 'job: ml-exporter\nrunbook_base: https://x.example/\n');
      const bad = bundleCli('--config', file, '--out', join(tmp, 'out'));
      expect(bad.status).toBe(2);
      expect(bad.stderr.trim()).toBe(`${file}:2 runbook_base: unknown key; did you mean 'runbook_base_url'?`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('a render with a config of your own (npm run bundle -- --config --out)', () => {
  const mine = {
    job: 'ml-exporter',
    grafana_url: 'https://grafana.example.com',
    runbook_base_url: 'https://runbooks.example.com/mlwatch/',
  };
  // Each environment value as it appears in rules, PromQL, and PromQL inside JSON or YAML strings.
  const tokens = (c: typeof mine) => [
    c.runbook_base_url,
    `${c.grafana_url}/d/`,
    `job="${c.job}"`,
    `job=\\"${c.job}\\"`,
  ];
  const count = (text: string, token: string) => text.split(token).length - 1;
  let out = '';
  let written: string[] = [];

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'mlwatch-bundle-'));
    const config = join(out, 'my-bundle.yaml');
    writeFileSync(
      config,
      Object.entries(mine)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\n'),
    );
    const r = bundleCli('--config', config, '--out', join(out, 'rendered'));
    expect(r.status, r.stderr).toBe(0);
    written = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.replace(/^wrote /, ''));
  }, 120_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  const rendered = (file: string) => readFileSync(join(out, 'rendered', file), 'utf8');

  it('writes the rules, dashboards and a complete Kubernetes base into --out only', () => {
    const files = written.map((w) => w.replace(/^.*?\/rendered\//, ''));
    expect(files).toEqual(expect.arrayContaining(['prometheus/rules/system.rules.yml']));
    expect(files).toEqual(expect.arrayContaining(['grafana/dashboards/mlwatch/system.json']));
    for (const f of readdirSync(join(ROOT, 'deploy/kubernetes'))) {
      expect(files, f).toContain(`deploy/kubernetes/${f}`);
    }
    expect(files.some((f) => f.startsWith('docs/'))).toBe(false);
  });

  it('changes every occurrence of every environment value, and nothing else', () => {
    const defaults = renderBundle(DEFAULT_BUNDLE_CONFIG, { target: 'directory' });
    let changed = 0;
    for (const d of defaults) {
      const text = rendered(d.file);
      const before = tokens(DEFAULT_BUNDLE_CONFIG);
      const after = tokens(mine);
      before.forEach((token, i) => {
        expect(count(text, token), `${d.file} still has ${token}`).toBe(0);
        expect(count(text, after[i] as string), `${d.file}: ${after[i]}`).toBe(count(d.text, token));
        changed += count(d.text, token);
      });
      // Replacing the values back gives the default render exactly: nothing but those values moved. The
      // ServiceMonitor is the exception, checked below: it gains the relabeling that sets the job.
      if (d.file.endsWith('servicemonitor.yaml')) continue;
      let back = text;
      after.forEach((token, i) => {
        back = back.split(token).join(before[i] as string);
      });
      expect(back, d.file).toBe(d.text);
    }
    expect(changed).toBeGreaterThan(150);
  });

  it("links every alert to its runbook and dashboard under the config's bases", () => {
    const dir = join(out, 'rendered', 'prometheus/rules');
    let alerts = 0;
    for (const f of readdirSync(dir)) {
      const doc = parse(readFileSync(join(dir, f), 'utf8')) as {
        groups: { rules: { alert?: string; annotations?: Record<string, string> }[] }[];
      };
      for (const r of doc.groups.flatMap((g) => g.rules).filter((x) => x.alert)) {
        alerts++;
        expect(r.annotations?.runbook_url).toBe(`${mine.runbook_base_url}${r.alert}.md`);
        expect(r.annotations?.dashboard).toMatch(/^https:\/\/grafana\.example\.com\/d\/mlwatch-[a-z-]+$/);
      }
    }
    expect(alerts).toBeGreaterThan(30);
  });

  it('the dashboards still pass the dashboard linter', () => {
    const dashboards = readCommittedDashboards(join(out, 'rendered', 'grafana/dashboards/mlwatch'));
    expect(dashboards).toHaveLength(6);
    expect(lintDashboards(dashboards, knownMetrics(join(out, 'rendered', 'prometheus/rules')))).toEqual([]);
  });

  it.skipIf(!promtool)('promtool check rules --lint=all --lint-fatal passes', () => {
    const dir = join(out, 'rendered', 'prometheus/rules');
    const files = readdirSync(dir).map((f) => join(dir, f));
    const r = spawnSync(promtool as string, ['check', 'rules', '--lint=all', '--lint-fatal', ...files], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!kubectl)('kubectl kustomize renders it, and the ServiceMonitor scrapes with the job', () => {
    const r = spawnSync(kubectl as string, ['kustomize', join(out, 'rendered', 'deploy/kubernetes')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are untyped YAML.
    const objects = parseAllDocuments(r.stdout, { version: '1.1' }).map((d) => d.toJS() as any);
    const monitor = objects.find((o) => o.kind === 'ServiceMonitor');
    // prometheus-operator sets job to the Service's name, then applies the endpoint's relabelings.
    expect(objects.find((o) => o.kind === 'Service').metadata.name).toBe('mlwatch');
    expect(monitor.spec.endpoints[0].relabelings).toEqual([
      { action: 'replace', targetLabel: 'job', replacement: 'ml-exporter' },
    ]);
    const rule = objects.find((o) => o.kind === 'PrometheusRule');
    const exprs = JSON.stringify(rule.spec.groups);
    expect(exprs).toContain('job=\\"ml-exporter\\"');
    expect(exprs).not.toContain('job=\\"mlwatch\\"');
    expect(
      objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard),
    ).toHaveLength(6);
  });
});
