import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { PromRule } from '../grafana/src/rules.js';
import { catalogEntries, externalMetrics } from '../src/metrics/catalog.js';
import { ALLOWED_LABELS, REQUIRED_ANNOTATIONS, REQUIRED_LABELS, RUNBOOK_BASE } from './bundle-contract.js';
import { inspectPromql } from './promql.js';

/**
 * The rule linter (pint's and the monitoring mixins' rules, for our contract): every alert carries the labels
 * and annotations the routing and the on-call people rely on, every runbook exists, every metric exists.
 */

export type Rule = PromRule;

export interface RuleFile {
  file: string;
  groups: { name: string; rules: Rule[] }[];
}

export function readRuleFiles(dir: string): RuleFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .map((f) => ({
      file: join(dir, f),
      ...(parse(readFileSync(join(dir, f), 'utf8')) as Omit<RuleFile, 'file'>),
    }));
}

export interface LintContext {
  /** Repository root, to find docs/runbooks. */
  root: string;
  /** Alert names that some promtool test file exercises. */
  testedAlerts: Set<string>;
}

const DURATION_ZERO = /^0[smhdwy]?$/;

/**
 * The labels that say where a target runs, beyond its job and address: a Kubernetes scrape adds `namespace`, a
 * multi-cluster setup `cluster`. Rules keep them wherever they keep the target, so alerts carry them and
 * inhibitions comparing them (kube-prometheus-stack's `equal: [namespace, alertname]`) line up.
 */
export const TARGET_PLACEMENT_LABELS = ['cluster', 'namespace'] as const;
const TARGET_LABELS = ['job', 'instance'];

/** The `by`/`on` lists that keep job or instance without cluster and namespace; `without`/`ignoring` dropping them. */
function placementProblems(expr: string): string[] {
  const problems: string[] = [];
  for (const g of inspectPromql(expr).groupings) {
    const list = `${g.modifier} (${g.labels.join(', ')})`;
    if (g.modifier === 'by' || g.modifier === 'on') {
      const missing = TARGET_PLACEMENT_LABELS.filter((l) => !g.labels.includes(l));
      if (g.labels.some((l) => TARGET_LABELS.includes(l)) && missing.length > 0)
        problems.push(`\`${list}\` keeps job or instance but not ${missing.join(' and ')}`);
    } else {
      const dropped = TARGET_PLACEMENT_LABELS.filter((l) => g.labels.includes(l));
      if (dropped.length > 0) problems.push(`\`${list}\` drops ${dropped.join(' and ')}, which rules keep`);
    }
  }
  return problems;
}

export function lintRules(files: RuleFile[], ctx: LintContext): string[] {
  const problems: string[] = [];
  const known = new Set([...catalogEntries.map((e) => e.name), ...externalMetrics]);
  for (const f of files) for (const g of f.groups) for (const r of g.rules) if (r.record) known.add(r.record);
  const alertNames = new Set<string>();

  for (const f of files) {
    for (const g of f.groups ?? []) {
      for (const r of g.rules ?? []) {
        const where = `${f.file}: ${r.alert ?? r.record}`;
        const say = (m: string) => problems.push(`${where}: ${m}`);
        const info = inspectPromql(r.expr ?? '');
        if (info.errors.length > 0) say(`expr does not parse (at ${info.errors[0]}): ${r.expr}`);
        for (const m of info.metrics)
          if (!known.has(m)) say(`expr reads ${m}, which is not in src/metrics/catalog.ts`);
        for (const p of placementProblems(r.expr ?? '')) say(p);

        if (r.record) {
          if (!/^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$/.test(r.record))
            say('recording rule names follow level:metric:operations');
          continue;
        }
        const name = r.alert as string;
        // One name may have a rule per severity (a fast burn pages, a slow one makes a ticket): Alertmanager's
        // critical-silences-warning inhibition matches on the alert name. Twice at one severity is a mistake.
        const key = `${name}/${r.labels?.severity ?? ''}`;
        if (alertNames.has(key)) say('alert name defined twice with the same severity');
        alertNames.add(key);
        if (!/^Mlwatch[A-Z][A-Za-z0-9]*$/.test(name)) say('alert names are CamelCase and start with Mlwatch');

        const labels = r.labels ?? {};
        for (const l of REQUIRED_LABELS) if (!labels[l]) say(`missing label ${l}`);
        for (const [k, v] of Object.entries(labels)) {
          const allowed = ALLOWED_LABELS[k];
          if (allowed && !allowed.includes(v)) say(`label ${k}="${v}" is not one of ${allowed.join(', ')}`);
          if (String(v).includes('{{') || String(v).includes('$value')) {
            say(`label ${k} is templated; a changing label value makes a new alert each evaluation`);
          }
        }
        if (labels.severity === 'critical' && (!r.for || DURATION_ZERO.test(r.for))) {
          say('a critical alert needs a non-zero for: so one bad scrape does not page');
        }

        const ann = r.annotations ?? {};
        for (const a of REQUIRED_ANNOTATIONS) if (!ann[a]) say(`missing annotation ${a}`);
        if (ann.summary?.includes('{{')) say('summary is static; put values in description');
        const runbook = `${RUNBOOK_BASE}${name}.md`;
        if (ann.runbook_url && ann.runbook_url !== runbook) say(`runbook_url should be ${runbook}`);
        if (!existsSync(join(ctx.root, 'docs/runbooks', `${name}.md`)))
          say(`docs/runbooks/${name}.md does not exist`);
        if (!ctx.testedAlerts.has(name)) say('no promtool test in prometheus/tests exercises this alert');
      }
    }
  }
  return problems;
}

/** Alert names named by `alertname:` in the promtool test files. */
export function testedAlerts(dir: string): Set<string> {
  const names = new Set<string>();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.yml'))) {
    const doc = parse(readFileSync(join(dir, f), 'utf8')) as {
      tests?: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
    };
    for (const t of doc.tests ?? []) {
      for (const a of t.alert_rule_test ?? []) if ((a.exp_alerts ?? []).length > 0) names.add(a.alertname);
    }
  }
  return names;
}
