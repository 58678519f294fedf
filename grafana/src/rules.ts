import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/**
 * The Prometheus rule files as the dashboards see them: which alerts exist (to draw their thresholds and link
 * their runbooks) and which recording rules exist (names a panel may query besides the catalog's).
 */

export const RULES_DIR = fileURLToPath(new URL('../../prometheus/rules/', import.meta.url));

export interface PromRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleSet {
  /** Where the rules came from, for error messages. */
  source: string;
  rules: PromRule[];
}

/** Parses rule files' YAML texts (groups[].rules[]); `source` names them in errors. */
export function parseRules(texts: string[], source: string): RuleSet {
  const rules: PromRule[] = [];
  for (const text of texts) {
    const doc = (parse(text) ?? {}) as { groups?: { rules?: PromRule[] }[] };
    for (const group of doc.groups ?? []) rules.push(...(group.rules ?? []));
  }
  return { source, rules };
}

/** Every `*.yml` in the rules directory: the same glob prometheus.yml loads (`rules/*.yml`). */
export function readRules(dir: string = RULES_DIR): RuleSet {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.yml'));
  } catch {
    throw new Error(`no Prometheus rules directory at ${dir}: the dashboards draw their thresholds from it`);
  }
  return parseRules(
    files.sort().map((f) => readFileSync(join(dir, f), 'utf8')),
    dir,
  );
}

export function findAlert(rules: RuleSet, name: string): PromRule {
  const rule = rules.rules.find((r) => r.alert === name);
  if (!rule) {
    throw new Error(
      `alert ${name} is not defined in ${rules.source}; the dashboards take its threshold from the rule, ` +
        'so add the alert (or change the panel that reads it) and regenerate',
    );
  }
  return rule;
}

export function recordingRuleNames(rules: RuleSet): string[] {
  return rules.rules.flatMap((r) => (r.record ? [r.record] : []));
}
