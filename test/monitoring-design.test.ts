import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type PromRule, readRules } from '../grafana/src/rules.js';
import { AM_CONFIG, AM_DIR, AMTOOL, amtoolRoutes } from './helpers/alertmanager.js';
import { ROOT } from './helpers/cli.js';

// docs/monitoring-design.md maps each risk to its metric, alert, threshold, owner, receivers, runbook and
// action. Nothing in it is taken on trust: every row is checked against the rule files and the routing, and
// every alert of the rules must have a row, so the page cannot drift from what actually pages.

const DOC = join(ROOT, 'docs', 'monitoring-design.md');
const COLUMNS = [
  'Risk',
  'Metric',
  'Alert',
  'Threshold (rules today)',
  'Severity',
  'Owner',
  'Receivers',
  'Runbook',
  'Action',
];

interface Row {
  line: number;
  cells: Record<string, string>;
}

/** A table row's cells; `\|` is a pipe inside a cell (GitHub's markdown escapes it so, also in code spans). */
function cellsOf(text: string): string[] {
  return text
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replace(/\\\|/g, '|'));
}

/** Every row of every table whose header is COLUMNS. */
function readTables(text: string): Row[] {
  const lines = text.split('\n');
  const rows: Row[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]?.startsWith('| Risk |')) continue;
    expect(cellsOf(lines[i] as string), `${DOC}:${i + 1} header`).toEqual(COLUMNS);
    for (let j = i + 2; j < lines.length && lines[j]?.startsWith('|'); j++) {
      const cells = cellsOf(lines[j] as string);
      expect(cells.length, `${DOC}:${j + 1}: ${COLUMNS.length} cells`).toBe(COLUMNS.length);
      rows.push({ line: j + 1, cells: Object.fromEntries(COLUMNS.map((c, k) => [c, cells[k] ?? ''])) });
    }
  }
  return rows;
}

const spans = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

/** Whether `expr` reads `metric`, directly or through the recording rules it names (transitively). */
function reads(expr: string, metric: string, records: PromRule[], seen = new Set<string>()): boolean {
  const token = (name: string) =>
    new RegExp(`(?<![A-Za-z0-9_:])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9_:])`).test(
      expr,
    );
  if (token(metric)) return true;
  return records.some((r) => {
    const name = r.record as string;
    if (seen.has(name) || !token(name)) return false;
    seen.add(name);
    return reads(r.expr, metric, records, seen);
  });
}

// Alertmanager's routing, for the labels of one alert: a route matches when all its matchers do; its children
// are tried in order, the first match wins unless it says `continue`; a route without a matching child
// delivers to its own receiver (inherited from its parent when it names none).
interface Route {
  receiver?: string;
  matchers?: string[];
  continue?: boolean;
  routes?: Route[];
}

function matches(m: string, labels: Record<string, string>): boolean {
  const x = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$/.exec(m);
  if (!x) throw new Error(`cannot read matcher ${m}; extend the test's matcher reader`);
  const [, name, op, raw] = x as unknown as [string, string, string, string];
  const value = raw.replace(/\\(.)/g, '$1');
  const got = labels[name] ?? '';
  if (op === '=') return got === value;
  if (op === '!=') return got !== value;
  const re = new RegExp(`^(?:${value})$`);
  return op === '=~' ? re.test(got) : !re.test(got);
}

function receiversFor(route: Route, labels: Record<string, string>, inherited: string): string[] {
  const own = route.receiver ?? inherited;
  const out: string[] = [];
  for (const child of route.routes ?? []) {
    if (!(child.matchers ?? []).every((m) => matches(m, labels))) continue;
    out.push(...receiversFor(child, labels, own));
    if (!child.continue) break;
  }
  return out.length > 0 ? out : [own];
}

const root = (parse(readFileSync(AM_CONFIG, 'utf8')) as { route: Route }).route;
const route = (labels: Record<string, string>) => receiversFor(root, labels, root.receiver ?? '');

const rules = readRules().rules;
const alerts = rules.filter((r) => r.alert);
const records = rules.filter((r) => r.record);
const rows = readTables(readFileSync(DOC, 'utf8'));
const alertOf = (row: Row) => spans(row.cells.Alert as string)[0] ?? '';
const severityOf = (row: Row) => spans(row.cells.Severity as string)[0] ?? '';
const ruleOf = (row: Row) =>
  alerts.filter((r) => r.alert === alertOf(row) && r.labels?.severity === severityOf(row));
const labelsOf = (rule: PromRule) => ({ alertname: rule.alert as string, ...rule.labels });

describe('the routing reader this test uses', () => {
  // Its answers must be amtool's: alertmanager/tests/routes.tsv holds what amtool says for each label set
  // (test/alertmanager.test.ts checks that with amtool itself).
  const table = readFileSync(join(AM_DIR, 'tests', 'routes.tsv'), 'utf8')
    .split('\n')
    .map((text, i) => ({ text, line: i + 1 }))
    .filter(({ text }) => text.trim() !== '' && !text.startsWith('#') && !text.startsWith('labels\t'));
  it.each(table.map((r) => [`routes.tsv:${r.line}`, r.text] as const))('%s', (_name, text) => {
    const [labels, receivers] = text.split('\t') as [string, string];
    const set = Object.fromEntries(
      labels
        .split(' ')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    expect(route(set).join(',')).toBe(receivers);
  });
});

describe('docs/monitoring-design.md', () => {
  it('has the risks the design names, and a row for every alert of the rules', () => {
    const risks = rows.map((r) => (r.cells.Risk as string).toLowerCase());
    for (const risk of [
      'schema drift',
      'rising nulls',
      'label delay',
      'leakage',
      'performance decay',
      'job failures',
      'latency',
      'kpi drops',
      'feature drift',
      'prediction drift',
      'stale data',
      'volume',
    ])
      expect(
        risks.some((r) => r.startsWith(risk)),
        `a row for the risk '${risk}'`,
      ).toBe(true);

    const documented = rows.map((r) => `${alertOf(r)} ${severityOf(r)}`);
    expect(new Set(documented).size, 'each alert and severity once').toBe(documented.length);
    const missing = alerts
      .map((r) => `${r.alert} ${r.labels?.severity}`)
      .filter((a) => !documented.includes(a));
    expect(missing, 'alerts in prometheus/rules without a row in docs/monitoring-design.md: add one').toEqual(
      [],
    );
  });

  it.each(rows.map((r) => [`line ${r.line}: ${alertOf(r)} ${severityOf(r)}`, r] as const))(
    '%s agrees with the rules and the routing',
    (_name, row) => {
      const where = `${DOC}:${row.line}`;
      const found = ruleOf(row);
      expect(found, `${where}: one rule ${alertOf(row)} with severity ${severityOf(row)}`).toHaveLength(1);
      const rule = found[0] as PromRule;

      expect(spans(row.cells.Owner as string), `${where}: owner is the team label`).toEqual([
        rule.labels?.team,
      ]);

      const thresholds = spans(row.cells['Threshold (rules today)'] as string);
      expect(thresholds.length, `${where}: a threshold in code`).toBeGreaterThan(0);
      for (const t of thresholds)
        expect(squash(rule.expr), `${where}: threshold \`${t}\` in the expression`).toContain(squash(t));

      const metrics = spans(row.cells.Metric as string);
      expect(metrics.length, `${where}: a metric`).toBeGreaterThan(0);
      for (const m of metrics)
        expect(reads(rule.expr, m, records), `${where}: the alert reads ${m}`).toBe(true);

      const receivers = spans(row.cells.Receivers as string);
      expect(receivers, `${where}: receivers as routed`).toEqual(route(labelsOf(rule)));

      const link = /\]\((runbooks\/[^)]+\.md)\)/.exec(row.cells.Runbook as string)?.[1];
      expect(link, `${where}: a runbook link`).toBeDefined();
      expect(existsSync(join(ROOT, 'docs', link as string)), `${where}: ${link} exists`).toBe(true);
      expect(rule.annotations?.runbook_url, `${where}: the alert's runbook_url`).toMatch(
        new RegExp(`/docs/${link}$`),
      );

      const retrain = rule.labels?.action === 'retrain';
      expect(
        (row.cells.Action as string).includes('`action=retrain`'),
        `${where}: action=retrain iff the label`,
      ).toBe(retrain);
    },
  );

  it.skipIf(!AMTOOL)(
    `amtool agrees with every row's receivers${AMTOOL ? '' : ' (skipped: no amtool 0.28 in .cache/prometheus-current)'}`,
    () => {
      for (const row of rows) {
        const rule = ruleOf(row)[0];
        if (!rule) continue; // reported by the row's own test
        const receivers = spans(row.cells.Receivers as string).join(',');
        const r = amtoolRoutes(AM_CONFIG, receivers, labelsOf(rule));
        expect({ line: row.line, code: r.code, out: r.stdout.trim() }).toEqual({
          line: row.line,
          code: 0,
          out: receivers,
        });
      }
    },
    60_000,
  );
});
