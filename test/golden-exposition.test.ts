import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { demoConfig } from '../src/demo/builtin-config.js';
import { createDemoSchema } from '../src/demo/schema.js';
import { seedHistory } from '../src/demo/seed.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import { exporterOn } from './helpers/exporter.js';

// The demo config's exposition as a contract, as node_exporter keeps e2e-output.txt: every family's HELP and
// TYPE and the label names of its series, from one round over the demo's seeded history. Any change to a metric
// name, a label name, a help text or a type shows here as a diff to review; rewrite it with UPDATE_GOLDEN=1 (refused
// under CI) and commit it with the change that explains it.
const GOLDEN = new URL('./golden/demo-exposition.txt', import.meta.url);
const UPDATE = process.env.UPDATE_GOLDEN === '1';
if (UPDATE && process.env.CI)
  throw new Error('UPDATE_GOLDEN=1 is refused under CI: update the golden file locally');

/**
 * The exposition's shape: each family's HELP and TYPE, then each distinct label-name set of its series
 * (`name{a,b}`), sorted. Values and label values are left out: they move with the clock (a 5-minute window
 * with or without a run of a 15-minute job) and are checked against oracles elsewhere.
 */
function shapeOf(text: string): string {
  const out: string[] = [];
  let series = new Set<string>();
  const flush = () => {
    out.push(...[...series].sort());
    series = new Set();
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      flush();
      out.push(line);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? /.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const names = [...(m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)].map((x) => x[1]);
    series.add(`${m[1]}{${names.join(',')}}`);
  }
  flush();
  return `${out.join('\n')}\n`;
}

let db: TestDb;
let text: string;
beforeAll(async () => {
  db = await openTestDb();
  await createDemoSchema(db.writer, db.schema);
  // 8 days, as the live stack: every check of the demo has data (the 14-day AUC its 500 labels).
  await seedHistory(db.writer, db.schema, { days: 8 });
  const exporter = exporterOn(db, stringify(demoConfig({ warehouseUrl: db.configUrl, schema: db.schema })));
  try {
    await exporter.firstRound();
    text = shapeOf(await exporter.metricsText());
  } finally {
    await exporter.stop(1000);
  }
}, 120_000);
afterAll(async () => {
  await db?.close();
});

describe('the demo config exposition', () => {
  it('keeps HELP, TYPE and each label-name set once, without values or label values', () => {
    expect(
      shapeOf('# HELP a h\n# TYPE a gauge\na{y="2",x="a \\" b"} 5\na{y="1",x="c"} NaN\na 3\nb 1\n'),
    ).toBe('# HELP a h\n# TYPE a gauge\na{y,x}\na{}\nb{}\n');
  });

  it('matches test/golden/demo-exposition.txt', () => {
    if (UPDATE || !existsSync(GOLDEN)) writeFileSync(GOLDEN, text);
    expect(existsSync(GOLDEN), 'run with UPDATE_GOLDEN=1 and review the file').toBe(true);
    expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
  });
});
