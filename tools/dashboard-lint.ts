import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';
import { DASHBOARDS_DIR } from '../grafana/src/index.js';
import { readRules, recordingRuleNames } from '../grafana/src/rules.js';
import { catalogEntries, externalMetrics } from '../src/metrics/catalog.js';
import { RUNBOOK_BASE } from './bundle-contract.js';
import { inspectPromql, stripGrafanaVariables } from './promql.js';

/**
 * The dashboard linter (grafana/dashboard-linter's rules, plus ours): every panel explains itself, has a
 * unit and reads the datasource variable; every query parses, reads only metrics that exist, and uses
 * $__rate_interval so rates stay correct at any zoom; every runbook link points at a runbook that exists.
 */

/** The parts of Grafana's JSON model the linter reads; everything else is ignored. */
export interface DashboardJson {
  uid?: string;
  title?: string;
  panels?: PanelJson[];
  templating?: { list?: VariableJson[] };
  annotations?: { list?: AnnotationJson[] };
  links?: { url?: string }[];
}
interface Ref {
  type?: string;
  uid?: string;
}
export interface PanelJson {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  datasource?: Ref;
  targets?: { expr?: string; datasource?: Ref }[];
  fieldConfig?: { defaults?: { unit?: string } };
  links?: { url?: string }[];
  panels?: PanelJson[];
}
interface VariableJson {
  name: string;
  type: string;
  query?: string | { query?: string };
  datasource?: Ref;
}
interface AnnotationJson {
  name?: string;
  builtIn?: number;
  expr?: string;
  target?: { expr?: string };
  datasource?: Ref;
}

export interface DashboardFile {
  file: string;
  dashboard: DashboardJson;
}

export const DATASOURCE_UID = '${datasource}';
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RATE_SENTINEL = '13371337s';
const RATE_FUNCTIONS = new Set(['Rate', 'Irate', 'Increase']);

/** Names a query may read: the catalog, Prometheus' and prom-client's own, and the recording rules. */
export function knownMetrics(rulesDir?: string): Set<string> {
  return new Set([
    ...catalogEntries.map((e) => e.name),
    ...externalMetrics,
    ...recordingRuleNames(readRules(rulesDir)),
  ]);
}

export function readCommittedDashboards(dir: string = DASHBOARDS_DIR): DashboardFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ file: f, dashboard: JSON.parse(readFileSync(join(dir, f), 'utf8')) as DashboardJson }));
}

/** Panels in grid order, including those folded into collapsed rows. */
export function panelsOf(d: DashboardJson): PanelJson[] {
  return (d.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Ranges of rate()/irate()/increase() that are not $__rate_interval (which Grafana keeps >= 4 scrapes). */
function badRateRanges(expr: string): string[] {
  const text = stripGrafanaVariables(expr.replace(/\$\{?__rate_interval\}?/g, RATE_SENTINEL));
  const bad: string[] = [];
  parser.parse(text).iterate({
    enter(node) {
      if (node.name !== 'FunctionCall') return;
      const fn = node.node.getChild('FunctionIdentifier')?.firstChild?.name;
      if (!fn || !RATE_FUNCTIONS.has(fn)) return;
      const arg = node.node.getChild('FunctionCallBody')?.firstChild;
      const range = arg?.getChild('DurationExpr');
      const got = range ? text.slice(range.from, range.to) : '';
      if (got !== RATE_SENTINEL) bad.push(`${fn.toLowerCase()}(...[${got}])`);
    },
  });
  return bad;
}

/** Problems of one PromQL expression, each prefixed with `where`. */
function lintExpr(expr: string, where: string, known: Set<string>): string[] {
  const problems: string[] = [];
  const info = inspectPromql(stripGrafanaVariables(expr));
  if (info.errors.length > 0) problems.push(`${where}: PromQL does not parse: ${expr}`);
  for (const m of info.metrics) {
    if (!known.has(m))
      problems.push(`${where}: reads ${m}, not in the catalog, externalMetrics or a recording rule`);
  }
  for (const r of badRateRanges(expr)) problems.push(`${where}: ${r} must use [$__rate_interval]`);
  // Multi-value and "All" (.*) variables expand to regexes: an `=` matcher would match nothing.
  const eq = /(\w+)\s*(=|!=)\s*"[^"]*\$/.exec(expr);
  if (eq) problems.push(`${where}: label ${eq[1]} matches a variable with ${eq[2]}; use =~ or !~`);
  return problems;
}

function usesDatasourceVariable(ref: Ref | undefined): boolean {
  return ref?.uid === DATASOURCE_UID;
}

function lintRunbookLink(url: string | undefined, where: string): string[] {
  if (!url?.startsWith(RUNBOOK_BASE) || url.includes('${')) return [];
  const doc = join(ROOT, 'docs/runbooks', url.slice(RUNBOOK_BASE.length));
  return existsSync(doc) ? [] : [`${where}: runbook link ${url} has no docs/runbooks file`];
}

export function lintDashboard(f: DashboardFile, known: Set<string>): string[] {
  const d = f.dashboard;
  const problems: string[] = [];
  const say = (m: string) => problems.push(`${f.file}: ${m}`);

  if (!d.uid) say('no uid');
  const vars = d.templating?.list ?? [];
  const dsVar = vars.find((v) => v.name === 'datasource');
  if (dsVar?.type !== 'datasource' || dsVar.query !== 'prometheus') {
    say('needs a `datasource` variable of type datasource, query prometheus');
  }
  for (const v of vars.filter((x) => x.type === 'query')) {
    const where = `${f.file}: variable ${v.name}`;
    if (!usesDatasourceVariable(v.datasource))
      problems.push(`${where}: datasource must be ${DATASOURCE_UID}`);
    const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
    const selector = /^label_values\((.+),\s*\w+\)$/.exec(q)?.[1];
    if (selector) problems.push(...lintExpr(selector, where, known));
  }
  for (const a of d.annotations?.list ?? []) {
    if (a.builtIn) continue;
    const where = `${f.file}: annotation ${a.name}`;
    if (!usesDatasourceVariable(a.datasource))
      problems.push(`${where}: datasource must be ${DATASOURCE_UID}`);
    problems.push(...lintExpr(a.expr ?? a.target?.expr ?? '', where, known));
  }
  for (const l of d.links ?? []) problems.push(...lintRunbookLink(l.url, `${f.file}: dashboard link`));

  const ids = new Set<number>();
  for (const p of panelsOf(d)) {
    const where = `${f.file}: panel ${p.id} "${p.title ?? ''}"`;
    const sayP = (m: string) => problems.push(`${where}: ${m}`);
    if (p.id === undefined) sayP('no id');
    else if (ids.has(p.id)) sayP('duplicate panel id');
    else ids.add(p.id);
    if (!p.title) sayP('no title');
    if (p.type === 'row') continue;
    if (!p.description) sayP('no description (what it means, what to do)');
    if (!p.fieldConfig?.defaults?.unit) sayP('no unit (fieldConfig.defaults.unit)');
    if (!usesDatasourceVariable(p.datasource)) sayP(`datasource must be ${DATASOURCE_UID}`);
    if ((p.targets ?? []).length === 0) sayP('no queries');
    for (const t of p.targets ?? []) {
      if (!usesDatasourceVariable(t.datasource)) sayP(`a target's datasource must be ${DATASOURCE_UID}`);
      problems.push(...lintExpr(t.expr ?? '', where, known));
    }
    for (const l of p.links ?? []) problems.push(...lintRunbookLink(l.url, where));
  }
  return problems;
}

export function lintDashboards(files: DashboardFile[], known: Set<string> = knownMetrics()): string[] {
  const problems: string[] = [];
  const uids = new Map<string, string>();
  for (const f of files) {
    const uid = f.dashboard.uid;
    const other = uid === undefined ? undefined : uids.get(uid);
    if (uid !== undefined && other) problems.push(`${f.file}: uid ${uid} is also the uid of ${other}`);
    if (uid !== undefined) uids.set(uid, f.file);
    problems.push(...lintDashboard(f, known));
  }
  return problems;
}

/**
 * A panel query as Prometheus' API takes it: $__rate_interval and the other interval variables become 1m,
 * template variables `.*` (queries match them with =~, so `.*` is "All").
 */
export function concreteQuery(expr: string): string {
  return expr.replace(/\$\{?__(rate_interval|interval|range)\}?/g, '1m').replace(/\$\{?\w+(:\w+)?\}?/g, '.*');
}

/**
 * Metrics of exporters that are optional in a deployment and absent from the live stack test (node_exporter):
 * panels reading them are empty there by design. They are linted like any other query.
 */
export const OPTIONAL_SOURCE_METRIC = /^node_/;

/** Whether a query reads a metric of an optional exporter (see OPTIONAL_SOURCE_METRIC). */
export function readsOptionalSource(expr: string): boolean {
  return inspectPromql(stripGrafanaVariables(expr)).metrics.some((m) => OPTIONAL_SOURCE_METRIC.test(m));
}

/**
 * Every panel query of the committed dashboards, ready to run against a live Prometheus, except those reading
 * an optional exporter's metrics (`optional: true` includes them).
 */
export function allPanelQueries(
  dir?: string,
  { optional = false }: { optional?: boolean } = {},
): { dashboard: string; panel: string; expr: string }[] {
  return readCommittedDashboards(dir).flatMap(({ dashboard }) =>
    panelsOf(dashboard).flatMap((p) =>
      (p.targets ?? []).flatMap((t) =>
        t.expr && (optional || !readsOptionalSource(t.expr))
          ? [{ dashboard: dashboard.title ?? '', panel: p.title ?? '', expr: concreteQuery(t.expr) }]
          : [],
      ),
    ),
  );
}
