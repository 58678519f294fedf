import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BundleConfig } from './config.js';
import type { GeneratedFile } from './files.js';
import { fillPlaceholders, generatedHeader, placeholderValues } from './placeholders.js';

/**
 * The Prometheus rule files, rendered from their sources in prometheus/src by filling in the bundle config.
 *
 * The sources are the rule files as people edit them, with `${job}`, `${thresholds.model_auc}`,
 * `${owners.model.team}` and so on where an environment's value goes (bundle/placeholders.ts has the syntax and
 * the formats). Text substitution rather than building the rules in TypeScript: the rules' comments, layout and
 * long descriptions stay exactly as written, the default render is byte for byte what Prometheus loaded before,
 * and a source reads like the rule file it becomes.
 *
 * `team:` is a placeholder in every alert: `${owners.<layer>.team}` of the layer that owns it, or
 * `${owners.system.team}` for the alerts the infrastructure owns whatever their layer (a stale dataset, the
 * state store's), so renaming an owner renames every alert's routing label at once.
 */

export const RULES_SOURCE_DIR = 'prometheus/src';
export const RULES_DIR = 'prometheus/rules';

/** One source's text with every placeholder filled; an unknown placeholder is an error naming its line. */
export function renderRuleText(text: string, config: BundleConfig, source: string): string {
  return fillPlaceholders(text, placeholderValues(config), source);
}

/** Every `*.yml` source, rendered to prometheus/rules under the same name (the glob prometheus.yml loads). */
export function renderRules(root: string, config: BundleConfig): GeneratedFile[] {
  const dir = join(root, RULES_SOURCE_DIR);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .map((f) => {
      const source = `${RULES_SOURCE_DIR}/${f}`;
      const text = readFileSync(join(dir, f), 'utf8');
      return {
        file: `${RULES_DIR}/${f}`,
        text: generatedHeader(source) + renderRuleText(text, config, source),
      };
    });
}
