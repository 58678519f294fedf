import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { datasetFamilies } from '../src/checks/dataset/families.js';
import { modelFamilies } from '../src/checks/model/families.js';
import {
  ago,
  clip,
  count,
  fromNow,
  humanDuration,
  number,
  percent,
  runDuration,
  schedule,
  score,
} from '../src/http/landing/format.js';
import { esc, href, link } from '../src/http/landing/html.js';
import { type KeyContext, keyValues, MAX_KEY_VALUES } from '../src/http/landing/key-values.js';
import { MARKS } from '../src/http/landing/marks.js';
import { checkCard } from '../src/http/landing/sections/checks.js';
import { explainSkipped, SKIPPED_REASONS } from '../src/http/landing/skipped-reasons.js';
import type { Sample } from '../src/metrics/types.js';
import { CachedCheck } from '../src/runtime/check-cache.js';
import { card } from './helpers/landing.js';

// The landing page's pieces without a server: how it writes times and numbers, which values it picks, what it
// says about skipped series. test/landing-page.test.ts drives the whole page through a served exporter.

const NOW = Date.parse('2026-12-01T12:00:00Z');
const ctx: KeyContext = { nowMs: NOW, monotonicMs: 50_000 };

describe('human durations', () => {
  it.each([
    [0, '0 s'],
    [0.25, '250 ms'],
    [45, '45 s'],
    [59.9, '59 s'],
    [60, '1 min'],
    [200, '3 min 20 s'],
    [3600, '1 h'],
    [7500, '2 h 5 min'],
    [7205, '2 h'],
    [86_400 * 3 + 4 * 3600 + 59, '3 d 4 h'],
    [-90, '-1 min 30 s'],
  ])('humanDuration(%s) is %s', (s, text) => {
    expect(humanDuration(s)).toBe(text);
  });

  it.each([
    [undefined, 'never'],
    [NOW + 5000, 'just now'],
    [NOW - 400, 'just now'],
    [NOW - 42_000, '42 s ago'],
    [NOW - 3 * 60_000 - 59_000, '3 min ago'],
    [NOW - 5 * 3_600_000, '5 h ago'],
    [NOW - 2 * 86_400_000 - 3_600_000, '2 d ago'],
  ])('ago(%s) is %s', (at, text) => {
    expect(ago(at, NOW)).toBe(text);
  });

  it('fromNow says "in" for what is ahead and ago for what is past', () => {
    expect(fromNow(NOW + 20 * 3_600_000 + 5000, NOW)).toBe('in 20 h');
    expect(fromNow(NOW + 90_000, NOW)).toBe('in 1 min');
    expect(fromNow(NOW - 90_000, NOW)).toBe('1 min ago');
  });

  it('a run takes milliseconds, tenths of seconds or minutes', () => {
    expect([runDuration(0.0421), runDuration(1.26), runDuration(125), runDuration(undefined)]).toEqual([
      '42 ms',
      '1.3 s',
      '2 min 5 s',
      '-',
    ]);
  });

  it('a schedule reads "every 1h", not "every 3600s"; a cron names its gap', () => {
    expect(schedule({ everyMs: 3_600_000 }, 3600)).toBe('every 1h');
    expect(schedule({ everyMs: 90_000 }, 90)).toBe('every 1m30s');
    expect(schedule({ cron: '*/5 * * * *' }, 300)).toBe('cron */5 * * * * (every 5m)');
  });
});

describe('numbers', () => {
  it('percentages carry the precision they need', () => {
    expect([0, 1, 0.25, 0.2134, 0.012, 0.0004, 0.99999].map(percent)).toEqual([
      '0 %',
      '100 %',
      '25 %',
      '21.3 %',
      '1.2 %',
      '0.04 %',
      '100 %',
    ]);
  });

  it('counts, scores and other values', () => {
    expect([
      count(12345),
      count(0),
      score(0.81234),
      number(1234.5678),
      number(0.0123456),
      number(1.797e9),
    ]).toEqual(['12,345', '0', '0.812', '1,235', '0.01235', '1,797,000,000']);
    expect(clip('abcdef', 4)).toBe('abc…');
    expect(clip('abc', 4)).toBe('abc');
  });
});

describe('escaping and links', () => {
  it('escapes the five HTML characters', () => {
    expect(esc(`<script>alert("x")</script> & 'q'`)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;',
    );
  });

  it('links only to http(s) URLs and to paths of the exporter', () => {
    expect(href('https://runbooks/x?a=1&b=2')).toBe('https://runbooks/x?a=1&b=2');
    expect(href('/api/v1/rollbacks/3')).toBe('/api/v1/rollbacks/3');
    for (const bad of ['javascript:alert(1)', 'data:text/html,x', '//evil/x', 'not a url', 'JaVaScRiPt:x'])
      expect(href(bad), bad).toBeUndefined();
    expect(link('javascript:alert(1)', 'runbook')).toBe('runbook');
    expect(link('https://r/a"b', 'r<b')).toBe('<a href="https://r/a%22b">r&lt;b</a>');
  });
});

describe('skipped reasons', () => {
  // Every reason a check can emit, found in the source: quoted snake_case words on lines about skipping, and
  // `skipped.<reason> =` assignments. A new reason without an explanation fails here.
  function reasonsInSource(dir: string): Set<string> {
    const out = new Set<string>();
    for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
      for (const line of readFileSync(join(entry.parentPath, entry.name), 'utf8').split('\n')) {
        if (!/skip|why/.test(line)) continue;
        for (const m of line.matchAll(/'([a-z]+(?:_[a-z]+)*)'/g)) out.add(m[1] as string);
        for (const m of line.matchAll(/skipped\.([a-z_]+)\s*=/g)) out.add(m[1] as string);
      }
    }
    return out;
  }

  it('explains every reason src/checks emits, and only those', () => {
    const found = reasonsInSource('src/checks');
    expect(found.size).toBeGreaterThan(10);
    expect([...found].sort()).toEqual(Object.keys(SKIPPED_REASONS).sort());
  });

  it('explains no_labels as the issue asks, and shows an unknown reason as it is', () => {
    expect(explainSkipped('no_labels')).toMatch(/^no labelled predictions in the window yet/);
    expect(explainSkipped('brand_new')).toBe('brand_new');
    expect(explainSkipped('constructor')).toBe('constructor');
  });
});

describe("the marks match the bundle's alert rules", () => {
  const rules = (layer: string) => readFileSync(`prometheus/rules/${layer}.rules.yml`, 'utf8');
  it.each([
    ['data', `mlwatch_dataset_newest_row_age_seconds > ${MARKS.staleSeconds}`],
    ['data', `mlwatch_dataset_null_ratio > ${MARKS.nullRatio}`],
    ['data', `mlwatch_dataset_invalid_ratio > ${MARKS.invalidRatio}`],
    ['data', `expr: mlwatch_feature_psi > ${MARKS.psi} and`],
    ['model', `mlwatch_model_prediction_psi{window=~"1d|7d"} > ${MARKS.psi}`],
    ['model', `${MARKS.auc} * group by (cluster, namespace, job, instance, model) (mlwatch_model_auc)`],
    ['model', `mlwatch_model_multiclass_auc{average="macro", window="14d"} < ${MARKS.auc}`],
    ['model', `(model:mlwatch_model_label_coverage:ratio{window="7d"} < ${MARKS.labelCoverage})`],
  ])('%s rules: %s', (layer, expr) => {
    expect(rules(layer)).toContain(expr);
  });
});

describe('key values', () => {
  const s = (name: string, labels: Record<string, string>, value: number, agingSince?: number): Sample => ({
    name,
    labels,
    value,
    ...(agingSince !== undefined ? { agingSince } : {}),
  });
  const auc = modelFamilies.modelAuc.name;
  const nulls = datasetFamilies.datasetNullRatio.name;

  it("shows the widest window's AUC of the latest versions, marked under 0.65", () => {
    const kv = keyValues(
      [
        s(auc, { model: 'm', window: '1d', version: 'v3' }, 0.9),
        s(auc, { model: 'm', window: '14d', version: 'v3' }, 0.61),
        s(auc, { model: 'm', window: '14d', version: 'v10' }, 0.83),
        s(auc, { model: 'm', window: '14d', version: 'v2' }, 0.7),
        s(modelFamilies.modelAccuracy.name, { model: 'm', window: '14d', version: 'v3' }, 0.8),
      ],
      ctx,
    );
    // v10 and v3 are the latest (numeric order, not text order); the accuracy waits while there is an AUC.
    expect(kv).toEqual([
      { label: 'AUC 14d (v3)', value: '0.610', flag: 'under 0.65' },
      { label: 'AUC 14d (v10)', value: '0.830' },
    ]);
  });

  it('lists the null ratios over 5 %, worst first, or says all are under it', () => {
    const over = keyValues(
      [
        s(nulls, { dataset: 'd', column: 'a', window: '1h' }, 0.06),
        s(nulls, { dataset: 'd', column: 'b', window: '1h' }, 0.3),
        s(nulls, { dataset: 'd', column: 'c', window: '1h' }, 0.01),
        s(nulls, { dataset: 'd', column: 'e', window: '1h' }, 0.07),
      ],
      ctx,
    );
    expect(over).toEqual([
      { label: 'NULL b', value: '30 %', flag: 'over 5 %' },
      { label: 'NULL e', value: '7 %', flag: 'over 5 %' },
    ]);
    const fine = keyValues(
      [
        s(nulls, { dataset: 'd', column: 'a', window: '1h' }, 0.02),
        s(nulls, { dataset: 'd', column: 'b', window: '1h' }, 0),
      ],
      ctx,
    );
    expect(fine).toEqual([{ label: 'NULL', value: 'all ≤ 5 % (highest: a 2 %)' }]);
  });

  it('ages the newest row by the time since it was read, and marks it past 15 min', () => {
    const age = datasetFamilies.datasetNewestRowAge.name;
    // Read 40 s before render (monotonic 10 s vs 50 s): 880 s + 40 s = 920 s, past the 900 s line.
    expect(keyValues([s(age, { dataset: 'd' }, 880, 10_000)], ctx)).toEqual([
      { label: 'newest row', value: '15 min 20 s old', flag: 'over 15 min' },
    ]);
  });

  it(`keeps at most ${MAX_KEY_VALUES} values, marked ones first`, () => {
    const kv = keyValues(
      [
        s(datasetFamilies.datasetNewestRowAge.name, { dataset: 'd' }, 10, 50_000),
        s(datasetFamilies.datasetRows.name, { dataset: 'd', window: '1h' }, 100),
        s(datasetFamilies.datasetRowsBaseline.name, { dataset: 'd', window: '1h' }, 120),
        s(datasetFamilies.datasetInvalidRatio.name, { dataset: 'd', column: 'x', window: '1h' }, 0),
        s(datasetFamilies.datasetDuplicateKeys.name, { dataset: 'd', window: '1d' }, 0),
        s(nulls, { dataset: 'd', column: 'a', window: '1h' }, 0.5),
      ],
      ctx,
    );
    expect(kv).toHaveLength(MAX_KEY_VALUES);
    expect(kv[0]).toEqual({ label: 'NULL a', value: '50 %', flag: 'over 5 %' });
    expect(kv.slice(1).map((k) => k.label)).toEqual(['newest row', 'rows in 1h', 'invalid x']);
    expect(kv[2]?.value).toBe('100 (window before: 120)');
  });

  it("reads a custom query's series by the unit its name ends with", () => {
    const kv = keyValues(
      [
        s('shop_last_order_timestamp_seconds', {}, (NOW - 180_000) / 1000),
        s('shop_latency_seconds', { q: 'p95' }, 0.245),
        s('shop_paid_ratio', {}, 0.5959),
        s('shop_orders', { region: 'eu' }, 1234),
      ],
      ctx,
    );
    expect(kv).toEqual([
      { label: 'shop_last_order_timestamp_seconds', value: '3 min ago' },
      { label: 'shop_latency_seconds q=p95', value: '245 ms' },
      { label: 'shop_paid_ratio', value: '59.6 %' },
    ]);
    // One metric: the card is the query's, its series are told apart by their labels.
    const one = keyValues(
      [
        s('shop_orders', { region: 'eu', channel: 'web' }, 1234),
        s('shop_orders', { region: 'us', channel: 'app' }, 5),
      ],
      ctx,
    );
    expect(one).toEqual([
      { label: 'region=eu channel=web', value: '1,234' },
      { label: 'region=us channel=app', value: '5' },
    ]);
  });

  it('shows nothing for families it has no headline for, rather than raw catalog series', () => {
    expect(keyValues([s(modelFamilies.modelInfo.name, { model: 'm' }, 1)], ctx)).toEqual([]);
  });
});

describe('a check card', () => {
  const check = new CachedCheck({
    id: 'dataset:d:scan',
    kind: 'dataset_scan',
    schedule: { everyMs: 3_600_000 },
    timeoutMs: 1000,
    families: [],
    fingerprint: 'f',
    run: async () => ({ samples: [], skipped: {} }),
  });

  it('keeps showing the last good values of a failing check, says how old they are, and shows the error', () => {
    const nulls = datasetFamilies.datasetNullRatio.name;
    check.succeed(
      {
        samples: [{ name: nulls, labels: { dataset: 'd', column: 'a', window: '1h' }, value: 0.4 }],
        skipped: { empty_window: 2 },
      },
      NOW - 10 * 60_000,
      0.5,
    );
    check.fail('relation "t" does not exist <b>', NOW - 60_000, 0.01);
    const html = checkCard(check, keyValues(check.samples, ctx), ctx);
    const c = card(html, 'dataset:d:scan');
    expect(c?.state).toBe('failing');
    expect(c?.meta).toBe('every 1h · last run 1 min ago · took 10 ms · 1 series');
    expect(c?.values.get('NULL a')).toEqual({ value: '40 %', flag: 'over 5 %' });
    expect(c?.text).toContain(
      'relation "t" does not exist <b> Values of the last successful run, 10 min ago.',
    );
    expect(html).toContain('does not exist &lt;b&gt;');
    // The skipped counts are the last successful run's too.
    expect(c?.skipped).toEqual(['2 not exported: no rows in the window empty_window']);
  });
});
