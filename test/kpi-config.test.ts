import { describe, expect, it } from 'vitest';
import { periodsOf } from '../src/checks/kpi/periods.js';
import { ratioStatement } from '../src/checks/kpi/ratio.js';
import { loadConfigText } from '../src/config/load.js';
import { rejectsEachFixture } from './helpers/bad-config.js';

// The `kpis` section's config mistakes and the exact text the user reads, as in test/config.test.ts.
const dir = 'test/fixtures/bad-config-kpi';

const cases: [string, string][] = [
  [
    '01-sql-and-ratio.yaml',
    '01-sql-and-ratio.yaml:6 kpis[0].ratio: give either sql or ratio, not both: ratio is the shorthand for a share of rows, sql for any other KPI',
  ],
  [
    '02-neither.yaml',
    '02-neither.yaml:4 kpis[0]: give sql (one row, the KPI of the window from $1 to $2) or ratio {table, timestamp, numerator}',
  ],
  [
    '03-bad-window.yaml',
    "03-bad-window.yaml:6 kpis[0].windows[0]: '1 day' is not a window: write it like 15m, 1h, 1d or 14d",
  ],
  [
    '04-window-longer-than-a-week.yaml',
    '04-window-longer-than-a-week.yaml:6 kpis[0].windows[1]: window 14d is longer than a week, so it overlaps the same window one week earlier (its baseline); use windows of at most 7d',
  ],
  [
    '05-sql-without-bounds.yaml',
    '05-sql-without-bounds.yaml:5 kpis[0].sql: bound the window with $1 (start) and $2 (end), and no other parameter, e.g. WHERE decided_at >= $1 AND decided_at < $2',
  ],
  [
    '06-numerator-parameter.yaml',
    "06-numerator-parameter.yaml:8 kpis[0].ratio.numerator: the numerator is an expression over the table's columns, e.g. approved; it cannot use parameters like $1",
  ],
  [
    '07-duplicate-kpi.yaml',
    "07-duplicate-kpi.yaml:6 kpis[1].name: KPI name 'approval_rate' is already used by kpis[0]",
  ],
  [
    '08-ratio-missing-numerator.yaml',
    [
      '08-ratio-missing-numerator.yaml:5 kpis[0].ratio.numerator: expected the numerator as a boolean SQL expression, e.g. approved',
      `${dir}/08-ratio-missing-numerator.yaml:8 kpis[0].ratio.numerater: unknown key; did you mean 'numerator'?`,
    ].join('\n'),
  ],
  [
    '09-baseline-duration.yaml',
    '09-baseline-duration.yaml:7 kpis[0].baseline: baseline is now the median of the same window in each of the last weeks (a single earlier period let one holiday raise or hide an alert): write baseline: { weeks: 4 } (the default, so you can also leave it out), or { weeks: 1 } to compare with last week only',
  ],
  [
    '10-baseline-weeks.yaml',
    [
      '10-baseline-weeks.yaml:6 kpis[0].baseline.weeks: weeks is at most 8: each week adds a stretch as long as the widest window to every scan, for little more precision',
      `${dir}/10-baseline-weeks.yaml:9 kpis[1].baseline.week: unknown key; did you mean 'weeks'?`,
    ].join('\n'),
  ],
];

describe('bad kpis configs name the file, line, path and fix', () => {
  rejectsEachFixture(dir, cases);
});

describe('a valid kpis section', () => {
  const text = (kpi: string) => `warehouse:\n  url: postgresql://x/db\nkpis:\n${kpi}`;

  it('defaults: windows 30m to 1d, a baseline of 4 weeks, the default schedule; one check per KPI', () => {
    const c = loadConfigText(
      text('  - name: approval_rate\n    ratio: { table: d, timestamp: t, numerator: approved }\n'),
      'm.yaml',
      {},
      '/',
    );
    expect(c.raw.kpis[0]).toMatchObject({
      windows: ['30m', '1h', '2h', '6h', '1d'].map((label, i) => ({
        label,
        ms: ([30, 60, 120, 360, 1440][i] as number) * 60_000,
      })),
      baseline: { weeks: 4 },
    });
    expect(c.checks.map((k) => [k.id, k.kind, k.schedule])).toEqual([
      ['kpi:approval_rate', 'kpi', { everyMs: 60_000 }],
    ]);
  });

  it('quotes the table and timestamp, and keeps the expressions as written', () => {
    const st = ratioStatement(
      { table: '"Sales".orders', timestamp: 'placed at', numerator: "status = 'paid'" },
      periodsOf(
        [
          { label: '1h', ms: 3_600_000 },
          { label: '1d', ms: 86_400_000 },
        ],
        2,
      ),
    );
    expect(st.sql).toContain('FROM "Sales"."orders"');
    expect(st.sql).toContain('SELECT "placed at" AS kpi_ts, (status = \'paid\') AS kpi_hit');
    // Every edge of every period, oldest first, as bound parameters (now() itself needs none); the rings
    // between them are what the statement counts.
    expect(st.edgesAgoMs).toEqual([
      2 * 604_800_000 + 86_400_000,
      2 * 604_800_000 + 3_600_000,
      2 * 604_800_000,
      604_800_000 + 86_400_000,
      604_800_000 + 3_600_000,
      604_800_000,
      86_400_000,
      3_600_000,
      0,
    ]);
    expect(st.sql).toContain(
      'width_bucket(kpi_ts, (SELECT ARRAY[now() - $1::interval, now() - $2::interval, now() - $3::interval, now() - $4::interval, now() - $5::interval, now() - $6::interval, now() - $7::interval, now() - $8::interval, now()]::timestamptz[]))',
    );
    // The scan reads the three day-long stretches, the current one and one and two weeks back, nothing between;
    // each length is bound once, so the stretches reuse the edges' parameters.
    expect(st.sql).toContain(
      'WHERE ("placed at" >= now() - $1::interval AND "placed at" < now() - $3::interval OR "placed at" >= now() - $4::interval AND "placed at" < now() - $6::interval OR "placed at" >= now() - $7::interval AND "placed at" < now())',
    );
    expect(st.params).toEqual([
      '1296000 seconds',
      '1213200 seconds',
      '1209600 seconds',
      '691200 seconds',
      '608400 seconds',
      '604800 seconds',
      '86400 seconds',
      '3600 seconds',
    ]);
  });

  it('refuses a table name that is not schema.table', () => {
    expect(() =>
      loadConfigText(
        text('  - name: r\n    ratio: { table: a.b.c.d, timestamp: t, numerator: ok }\n'),
        'm.yaml',
        {},
        '/',
      ),
    ).toThrow("m.yaml:5 kpis[0].ratio.table: 'a.b.c.d' has 4 parts; write schema.table");
  });
});
