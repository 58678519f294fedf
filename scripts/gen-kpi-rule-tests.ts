// Writes prometheus/tests/business-simulated.test.yml from the scenarios of tools/kpi-rule-tests.ts:
// `npx tsx scripts/gen-kpi-rule-tests.ts`. With --stats, also prints the detection times and false alarms of
// many random runs (the figures in docs/business-layer.md); that takes a minute.
import { writeFileSync } from 'node:fs';
import { readRules } from '../grafana/src/rules.js';
import { renderRuleTests, SCENARIOS, simulate } from '../tools/kpi-rule-tests.js';
import { printStats } from '../tools/kpi-stats.js';

const OUT = new URL('../prometheus/tests/business-simulated.test.yml', import.meta.url);

try {
  const rules = readRules();
  const outcomes = SCENARIOS.map((s) => simulate(s, rules));
  for (const o of outcomes) {
    const what =
      o.scenario.kind === 'drop' ? `fires ${o.detectedAfter} min after the drop` : `fires: ${o.firing >= 0}`;
    console.log(`${o.scenario.name}: ${what}; condition held at ${o.held} of ${o.runs.length} runs`);
  }
  writeFileSync(OUT, renderRuleTests(outcomes));
  console.log('wrote prometheus/tests/business-simulated.test.yml');
  if (process.argv.includes('--stats')) printStats(rules);
} catch (err) {
  console.error(`gen-kpi-rule-tests: ${(err as Error).message}`);
  process.exit(1);
}
