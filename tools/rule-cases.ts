import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import { formatDuration, parseDuration } from '../src/config/duration.js';
import type { RuleFile } from './rules-lint.js';

/**
 * The promtool tests' side of the rule linter (issue 13): every alert, at every severity it can carry, has a
 * promtool case where it fires with that severity and one where it does not fire. A rule tested only for firing
 * passes with a threshold of 0, or a `for` of 0; a case on the good side of the threshold (or before `for` has
 * elapsed) is what makes the test fail when the threshold is wrong.
 */

export interface AlertRuleTest {
  eval_time?: string;
  alertname: string;
  exp_alerts?: { exp_labels?: Record<string, string> }[] | null;
}

export interface PromtoolTestFile {
  /** Path of the test file; its rule_files are relative to its directory. */
  file: string;
  /** Written by a generator ("# GENERATED ..." header): never suggested as the place to add a case. */
  generated: boolean;
  doc: {
    rule_files?: string[];
    tests?: { name?: string; input_series?: unknown[] | null; alert_rule_test?: AlertRuleTest[] | null }[];
  };
}

export function readPromtoolTests(dir: string): PromtoolTestFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .map((f) => {
      const text = readFileSync(join(dir, f), 'utf8');
      return { file: join(dir, f), generated: /^# GENERATED\b/m.test(text), doc: parse(text) ?? {} };
    });
}

/** A Prometheus duration in ms; a missing `for` or eval_time is 0, and so is Prometheus' bare "0". */
function duration(text: string | undefined): number {
  if (text === undefined || text === '0') return 0;
  const ms = parseDuration(String(text));
  if (ms === undefined) throw new Error(`not a Prometheus duration: ${text}`);
  return ms;
}

interface Variant {
  alert: string;
  severity: string;
  ruleFile: string;
  /** The rule's `for`, in ms (0 without one). */
  forMs: number;
  firing: number;
  notFiring: number;
  /** Test files that load ruleFile, with how many alert_rule_test entries each has for this alert. */
  candidates: Map<string, number>;
}

/** Every (alert, severity) of the rule files, with how many promtool cases fire it and how many assert it does not. */
export function alertCaseCounts(rules: RuleFile[], tests: PromtoolTestFile[]): Variant[] {
  const variants = new Map<string, Variant>();
  for (const f of rules) {
    for (const g of f.groups ?? []) {
      for (const r of g.rules ?? []) {
        if (!r.alert) continue;
        const severity = r.labels?.severity ?? '';
        const key = `${r.alert}\0${severity}`;
        if (!variants.has(key)) {
          const forMs = duration(r.for);
          const v = { alert: r.alert, severity, ruleFile: resolve(f.file), forMs, firing: 0, notFiring: 0 };
          variants.set(key, { ...v, candidates: new Map() });
        }
      }
    }
  }

  for (const t of tests) {
    const loaded = new Set((t.doc.rule_files ?? []).map((rf) => resolve(dirname(t.file), rf)));
    for (const group of t.doc.tests ?? []) {
      const hasInput = (group.input_series ?? []).length > 0;
      for (const a of group.alert_rule_test ?? []) {
        const severities = new Set((a.exp_alerts ?? []).map((e) => e.exp_labels?.severity ?? ''));
        for (const v of variants.values()) {
          // A case only says something about the rule if its file loads the rule: promtool evaluates only the
          // rule_files it names, and an alert it never loaded is "not firing" whatever the data.
          if (v.alert !== a.alertname || !loaded.has(v.ruleFile)) continue;
          v.candidates.set(t.file, (v.candidates.get(t.file) ?? 0) + 1);
          if (severities.has(v.severity)) v.firing++;
          // Not firing at this severity: exp_alerts is the complete list of firing alerts of that name at
          // eval_time (promtool compares sets, pending alerts are not in it), so an entry without this severity
          // asserts this variant is silent there. That is `exp_alerts: []` (nothing of the name fires), but also
          // a case where only the other severity fires (the slow-burn warning without the fast-burn page): the
          // critical rule was evaluated on the same data and did not fire, which tests its threshold as well.
          // Two kinds of case say nothing about the threshold, so they do not count: one without input series
          // (every rule is silent on no data), and one before eval_time reaches the rule's `for` (no rule can
          // fire before its `for` has elapsed, even `expr: vector(1)`). From `for` on, a wrong threshold (or a
          // wrong `for`) would have fired it: the case tests a value on the good side of the line, or a bad
          // value that has not lasted `for` yet.
          else if (hasInput && duration(a.eval_time) >= v.forMs) v.notFiring++;
        }
      }
    }
  }
  return [...variants.values()];
}

/**
 * Problems, one per (alert, severity) without a firing case or without a not-firing case, naming the test file
 * to add it to: the hand-written test file that loads the alert's rule file and already tests the alert most,
 * else prometheus/tests/<name>.test.yml after the rule file's name.
 */
export function lintAlertCases(rules: RuleFile[], tests: PromtoolTestFile[], root: string): string[] {
  const generated = new Set(tests.filter((t) => t.generated).map((t) => t.file));
  const testsDir = tests[0] ? dirname(tests[0].file) : join(root, 'prometheus/tests');
  const problems: string[] = [];
  for (const v of alertCaseCounts(rules, tests)) {
    const where = [...v.candidates]
      .filter(([file]) => !generated.has(file))
      .sort(([fa, na], [fb, nb]) => nb - na || fa.localeCompare(fb))[0]?.[0];
    const target = relative(
      root,
      where ?? join(testsDir, `${basename(v.ruleFile).replace(/\.rules\.yml$|\.ya?ml$/, '')}.test.yml`),
    );
    const name = `${relative(root, v.ruleFile)}: ${v.alert} severity=${v.severity || '(none)'}`;
    if (v.firing === 0) {
      problems.push(
        `${name}: no promtool case fires it; add an alert_rule_test where it fires with severity ${v.severity || '(none)'} to ${target}`,
      );
    }
    if (v.notFiring === 0) {
      const after = v.forMs > 0 ? ` at an eval_time of at least its for: (${formatDuration(v.forMs)})` : '';
      problems.push(
        `${name}: no promtool case asserts it does not fire; add an alert_rule_test for ${v.alert} whose exp_alerts has no severity=${v.severity || '(none)'} alert${after}, on a value just on the good side of its threshold or one that has not lasted its for: yet, to ${target}`,
      );
    }
  }
  return problems;
}
