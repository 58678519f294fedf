import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { catalogByName } from '../src/metrics/catalog.js';

/**
 * Keeps docs/reflection.md true: its links lead somewhere, and what a link names (an alert, a recording
 * rule, a metric, a receiver, a runbook, a test) is defined where the link points. Nothing here starts a
 * database or a server.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DOC = join(ROOT, 'docs/reflection.md');
const RULES_DIR = join(ROOT, 'prometheus/rules');
const ROUTES = 'alertmanager/tests/routes.tsv';

interface Rule {
  alert?: string;
  record?: string;
  labels?: Record<string, string>;
}

const ruleFiles = readdirSync(RULES_DIR).filter((f) => f.endsWith('.rules.yml'));
const rulesByFile = new Map<string, Rule[]>(
  ruleFiles.map((f) => {
    const doc = parse(readFileSync(join(RULES_DIR, f), 'utf8')) as { groups: { rules: Rule[] }[] };
    return [`prometheus/rules/${f}`, doc.groups.flatMap((g) => g.rules)];
  }),
);
const allRules = [...rulesByFile.values()].flat();
const alertNames = new Set(allRules.flatMap((r) => (r.alert ? [r.alert] : [])));

const receivers = new Set(
  (
    parse(readFileSync(join(ROOT, 'alertmanager/alertmanager.yml'), 'utf8')) as {
      receivers: { name: string }[];
    }
  ).receivers.map((r) => r.name),
);

/** routes.tsv: alert name -> its cases (labels and the receivers amtool must find). */
const routeCases = new Map<string, { labels: Record<string, string>; receivers: string[] }[]>();
for (const line of readFileSync(join(ROOT, ROUTES), 'utf8').split('\n')) {
  if (line.startsWith('#') || line.startsWith('labels\t') || !line.includes('\t')) continue;
  const [labelText = '', recv = ''] = line.split('\t');
  const labels = Object.fromEntries(labelText.split(' ').map((kv) => kv.split('=', 2) as [string, string]));
  const name = labels.alertname;
  if (name) routeCases.set(name, [...(routeCases.get(name) ?? []), { labels, receivers: recv.split(',') }]);
}

/** The routes.tsv cases of an alert whose severity, layer and team are those of one of its rules. */
function casesOf(alert: string): { receivers: string[] }[] {
  const rules = allRules.filter((r) => r.alert === alert);
  return (routeCases.get(alert) ?? []).filter((c) =>
    rules.some((r) => ['severity', 'layer', 'team'].every((k) => c.labels[k] === r.labels?.[k])),
  );
}

/** Markdown outside fenced code blocks. */
function prose(md: string): string {
  let fenced = false;
  return md
    .split('\n')
    .filter((line) => {
      if (/^\s*(```|~~~)/.test(line)) {
        fenced = !fenced;
        return false;
      }
      return !fenced;
    })
    .join('\n');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingAnchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of prose(md).split('\n')) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = (m[1] ?? '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

interface Link {
  text: string;
  target: string;
  /** The target file from the repository root ('' for an anchor in the same file). */
  file: string;
  anchor: string;
  line: number;
}

function linksOf(md: string, from: string): Link[] {
  const links: Link[] = [];
  for (const [i, line] of prose(md).split('\n').entries()) {
    for (const m of line.matchAll(/\[([^\]]*)\]\(([^)\s]+)\)/g)) {
      const target = m[2] ?? '';
      if (/^[a-z]+:/i.test(target)) continue; // http(s), mailto: not ours to check
      const [path = '', anchor = ''] = target.split('#');
      const file = path === '' ? '' : relative(ROOT, resolve(dirname(join(ROOT, from)), path));
      links.push({ text: m[1] ?? '', target, file, anchor, line: i + 1 });
    }
  }
  return links;
}

const backticked = (text: string) => /^`([^`]+)`$/.exec(text)?.[1];

/** Every problem with the links of `md` (a Markdown file at `from`, from the repository root). */
function linkProblems(md: string, from = 'docs/reflection.md'): string[] {
  const problems: string[] = [];
  const links = linksOf(md, from);
  const rows = new Map<number, Link[]>();
  for (const l of links) rows.set(l.line, [...(rows.get(l.line) ?? []), l]);

  for (const l of links) {
    const where = `line ${l.line}: [${l.text}](${l.target})`;
    const path = l.file === '' ? from : l.file;
    const abs = join(ROOT, path);
    if (!existsSync(abs)) {
      problems.push(`${where}: ${path} does not exist`);
      continue;
    }
    if (l.anchor !== '') {
      if (!path.endsWith('.md')) problems.push(`${where}: an anchor into a file that is not Markdown`);
      else if (!headingAnchors(readFileSync(abs, 'utf8')).has(l.anchor))
        problems.push(`${where}: ${path} has no heading #${l.anchor}`);
    }
    const name = backticked(l.text);
    if (path.startsWith('prometheus/rules/')) {
      const rules = rulesByFile.get(path) ?? [];
      if (!name)
        problems.push(`${where}: a link to rules should name an alert or recording rule in backticks`);
      else if (/^Mlwatch[A-Z]/.test(name)) {
        if (!rules.some((r) => r.alert === name)) problems.push(`${where}: ${path} has no alert: ${name}`);
      } else if (!rules.some((r) => r.record === name))
        problems.push(`${where}: ${path} has no record: ${name}`);
    }
    if (name?.startsWith('mlwatch_') && !path.startsWith('prometheus/rules/')) {
      if (path !== 'docs/metrics.md' && path !== 'src/metrics/catalog.ts')
        problems.push(`${where}: link a metric to docs/metrics.md or src/metrics/catalog.ts`);
      if (!catalogByName.has(name) && !allRules.some((r) => r.record === name))
        problems.push(`${where}: ${name} is neither in src/metrics/catalog.ts nor a recording rule`);
    }
    if (path === 'alertmanager/alertmanager.yml' && name && !receivers.has(name))
      problems.push(`${where}: alertmanager.yml has no receiver ${name}`);
    if (path.startsWith('docs/runbooks/')) {
      const alert = basename(path, '.md');
      if (!alertNames.has(alert)) problems.push(`${where}: a runbook for ${alert}, which no rule defines`);
    }
  }

  // Within one line (a table row, a bullet): the tests it names assert the alerts it names, and the routes it
  // names are those routes.tsv gives those alerts.
  for (const [line, row] of rows) {
    const alerts = row.flatMap((l) => {
      const n = backticked(l.text);
      return l.file.startsWith('prometheus/rules/') && n && alertNames.has(n) ? [n] : [];
    });
    if (alerts.length === 0) continue;
    const promTests = row.filter(
      (l) => /^prometheus\/tests\/.*\.test\.yml$/.test(l.file) && existsSync(join(ROOT, l.file)),
    );
    if (promTests.length > 0) {
      const asserted = new Set(
        promTests.flatMap((l) =>
          [...readFileSync(join(ROOT, l.file), 'utf8').matchAll(/alertname:\s*(\w+)/g)].map((m) => m[1]),
        ),
      );
      for (const a of alerts) {
        if (!asserted.has(a))
          problems.push(`line ${line}: ${a} is asserted in none of the promtool tests it names`);
      }
    }
    if (row.some((l) => l.file === ROUTES)) {
      const cases = alerts.flatMap(casesOf);
      if (cases.length === 0)
        problems.push(
          `line ${line}: names ${ROUTES} but it has no case of ${alerts.join(', ')} with its rule's labels`,
        );
      const routed = new Set(cases.flatMap((c) => c.receivers));
      for (const l of row.filter((x) => x.file === 'alertmanager/alertmanager.yml')) {
        const r = backticked(l.text);
        if (r && cases.length > 0 && !routed.has(r))
          problems.push(`line ${line}: no case of ${alerts.join(', ')} in ${ROUTES} reaches ${r}`);
      }
    }
  }
  return problems;
}

/** Alerts the reflection must name: every page (critical) and every business-layer (KPI) alert. */
function requiredAlerts(): string[] {
  return [
    ...new Set(
      allRules
        .filter((r) => r.alert && (r.labels?.severity === 'critical' || r.labels?.layer === 'business'))
        .map((r) => r.alert as string),
    ),
  ].sort();
}

function linkedAlerts(md: string): Set<string> {
  return new Set(
    linksOf(md, 'docs/reflection.md').flatMap((l) => {
      const n = backticked(l.text);
      return l.file.startsWith('prometheus/rules/') && n ? [n] : [];
    }),
  );
}

describe('docs/reflection.md', () => {
  const md = readFileSync(DOC, 'utf8');

  it('every link leads to a file and heading that exist, and names what is defined there', () => {
    expect(linksOf(md, 'docs/reflection.md').length).toBeGreaterThan(100);
    expect(linkProblems(md)).toEqual([]);
  });

  it('links every page and every KPI alert of the rules, with its rule file', () => {
    const required = requiredAlerts();
    expect(required).toEqual(expect.arrayContaining(['MlwatchModelAucLow', 'MlwatchKpiSuddenDrop']));
    const linked = linkedAlerts(md);
    expect(required.filter((a) => !linked.has(a))).toEqual([]);
  });

  it('links a metric, a rule, a route, a runbook and a test for each layer and the ownership', () => {
    const sections = md.split(/^#{2,3} /m);
    for (const title of ['Data layer', 'Model layer', 'System layer', 'Business layer', 'Ownership']) {
      const section = sections.find((s) => s.startsWith(title)) ?? '';
      const files = linksOf(section, 'docs/reflection.md').map((l) => l.file);
      expect(files, title).toContain('alertmanager/alertmanager.yml');
      expect(
        files.some((f) => f.startsWith('prometheus/rules/')),
        title,
      ).toBe(true);
      expect(
        files.some((f) => f === 'docs/metrics.md'),
        title,
      ).toBe(true);
      expect(
        files.some((f) => f.startsWith('docs/runbooks/')),
        title,
      ).toBe(true);
      expect(
        files.some((f) => /^(prometheus\/tests\/|test\/|alertmanager\/tests\/)/.test(f)),
        title,
      ).toBe(true);
    }
  });

  it('states the thresholds the design names', () => {
    for (const phrase of [
      '15 min',
      '5 %',
      '0.65',
      '20 % above',
      '99 %',
      '500 ms',
      '4 weeks',
      '15 minutes',
      'engineering and a product approver',
      'mlwatch report',
      'mlwatch tickets handoff',
    ]) {
      expect(md, phrase).toContain(phrase);
    }
  });

  it('the checks fail on a broken link, a wrong name or a missing page', () => {
    const broken = (from: string, to: string) => {
      expect(md, from).toContain(from);
      return linkProblems(md.replace(from, to));
    };
    expect(broken('(runbooks/MlwatchDatasetStale.md)', '(runbooks/MlwatchDatasetStal.md)')).toEqual([
      expect.stringMatching(/runbooks\/MlwatchDatasetStal\.md does not exist/),
    ]);
    expect(
      broken('business-layer.md#detection-time-and-false-alarms', 'business-layer.md#detection-time'),
    ).toEqual([expect.stringMatching(/has no heading #detection-time/)]);
    expect(
      broken(
        '[`MlwatchDatasetStale`](../prometheus/rules/data.rules.yml)',
        '[`MlwatchDatasetStale`](../prometheus/rules/model.rules.yml)',
      ),
    ).toEqual(
      expect.arrayContaining([expect.stringMatching(/model\.rules\.yml has no alert: MlwatchDatasetStale/)]),
    );
    expect(broken('[`mlwatch_dataset_null_ratio`]', '[`mlwatch_dataset_nulls_ratio`]')).toEqual([
      expect.stringMatching(/mlwatch_dataset_nulls_ratio is neither in src\/metrics\/catalog\.ts/),
    ]);
    expect(broken('[`business-analysts`]', '[`analysts`]')).toEqual(
      expect.arrayContaining([expect.stringMatching(/no receiver analysts/)]),
    );
    // A route the alert does not take: MlwatchKpiSuddenDrop never pages.
    expect(
      broken(
        '[`ticketing`](../alertmanager/alertmanager.yml), [`business-analysts`](../alertmanager/alertmanager.yml) | [runbook](runbooks/MlwatchKpiSuddenDrop.md)',
        '[`platform-oncall`](../alertmanager/alertmanager.yml), [`business-analysts`](../alertmanager/alertmanager.yml) | [runbook](runbooks/MlwatchKpiSuddenDrop.md)',
      ),
    ).toEqual([
      expect.stringMatching(
        /MlwatchKpiSuddenDrop in alertmanager\/tests\/routes\.tsv reaches platform-oncall/,
      ),
    ]);
    // A promtool test that does not assert the alert of its row.
    expect(
      broken(
        '| [freshness.test.yml](../prometheus/tests/freshness.test.yml), [routes.tsv]',
        '| [data.test.yml](../prometheus/tests/data.test.yml), [routes.tsv]',
      ),
    ).toEqual([expect.stringMatching(/MlwatchDatasetStale is asserted in none of the promtool tests/)]);
    // A page that is no longer on the page.
    const without = md.replaceAll(
      '[`MlwatchNodeDiskFillingUp`](../prometheus/rules/system.rules.yml)',
      'the disk alert',
    );
    expect(requiredAlerts().filter((a) => !linkedAlerts(without).has(a))).toEqual([
      'MlwatchNodeDiskFillingUp',
    ]);
  });

  it('computes GitHub heading anchors', () => {
    const anchors = headingAnchors(
      "# A title\n## 2. When and how: data science\n## The exporter's own health\n```sh\n# not a heading\n```\n## A title\n### Jobs (`jobs[]`, check `job:<name>`)\n",
    );
    expect([...anchors]).toEqual([
      'a-title',
      '2-when-and-how-data-science',
      'the-exporters-own-health',
      'a-title-1',
      'jobs-jobs-check-jobname',
    ]);
    expect(statSync(DOC).size).toBeLessThan(40_000);
  });
});
