import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { catalogEntries } from '../src/metrics/catalog.js';
import { renderMetricsDoc } from '../src/metrics/doc.js';

describe('metric catalog', () => {
  it('docs/metrics.md is up to date (run `npm run docs`)', () => {
    expect(readFileSync(new URL('../docs/metrics.md', import.meta.url), 'utf8')).toBe(renderMetricsDoc());
  });

  it('follows the Prometheus naming conventions', () => {
    const names = new Set<string>();
    for (const e of catalogEntries) {
      expect(e.name).toMatch(/^mlwatch_[a-z0-9_]+$/);
      expect(names.has(e.name), `${e.name} defined twice`).toBe(false);
      names.add(e.name);
      // _total only on counters, and every counter ends in _total.
      expect(e.name.endsWith('_total'), e.name).toBe(e.type === 'counter');
      expect(e.help.length, `${e.name} needs help text`).toBeGreaterThan(10);
      if (e.name.endsWith('_info')) expect(e.type).toBe('gauge');
      // Base units: no milliseconds or percentages in names.
      expect(e.name).not.toMatch(/_(ms|milliseconds|percent|minutes)(_|$)/);
    }
  });
});
