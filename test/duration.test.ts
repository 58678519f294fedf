import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../src/config/duration.js';
import { ConfigError } from '../src/config/errors.js';
import { loadConfigText } from '../src/config/load.js';

// Durations as Prometheus reads them (model.ParseDuration): units largest first, each at most once.
describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['5ms', 5],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1d12h', 129_600_000],
    ['2w', 1_209_600_000],
    ['1y', 31_536_000_000],
    ['1h0m5s', 3_605_000],
    ['1m500ms', 60_500],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '30m1h', '1m1m', '5s1m', '1ms1s', 'm', '5', '1.5h', '-5m', '5 m', '1h 30m', '5M'])(
    "'%s' is not a duration",
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );

  it('reads back what formatDuration writes', () => {
    for (const ms of [1, 999, 1000, 61_000, 3_600_000, 90_061_001, 1_209_600_000])
      expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});

// Issue 17: the config accepted `30m1h` and `1m1m`, which Prometheus refuses. Through the loader, every key that
// takes a duration reads it with parseDuration, so a window in mlwatch.yaml reads the same in a rule.
describe('durations in a config', () => {
  it('refuses units out of order or repeated, naming the line and the key', () => {
    const text = `warehouse: { url: 'pglite:memory', statement_timeout: 1m1m }
defaults: { interval: 30m1h }
queries:
  - { name: q, interval: 1h30m, sql: SELECT 1 AS n, metrics: [{ name: t_n, help: h., value: n }] }
`;
    let error: unknown;
    try {
      loadConfigText(text, 'd.yaml', {}, '/');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const lines = (error as ConfigError).message.split('\n');
    expect(lines).toContainEqual(
      expect.stringMatching(/^d\.yaml:1 warehouse\.statement_timeout: '1m1m' is not /),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^d\.yaml:2 defaults\.interval: '30m1h' is not an interval/),
    );
    // 1h30m, in Prometheus' order, is no problem.
    expect(lines.filter((l) => l.includes('queries'))).toEqual([]);
  });
});
