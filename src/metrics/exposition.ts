import type { FamilyDef, Sample } from './types.js';

/** The Prometheus text format (version 0.0.4), written by hand for cached check samples. */

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const escapeHelp = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

export function formatValue(v: number): string {
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  return String(v);
}

export function familyHeader(f: FamilyDef): string {
  return `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
}

export function sampleLine(s: Sample): string {
  const keys = Object.keys(s.labels);
  if (keys.length === 0) return `${s.name} ${formatValue(s.value)}\n`;
  const labels = keys.map((k) => `${k}="${escapeLabel(s.labels[k] as string)}"`).join(',');
  return `${s.name}{${labels}} ${formatValue(s.value)}\n`;
}

/** Sample lines grouped by family name, rendered once when a check succeeds so a scrape only concatenates. */
export function renderByFamily(samples: readonly Sample[]): Map<string, string> {
  const lines = new Map<string, string[]>();
  for (const s of samples) {
    const family = lines.get(s.name);
    if (family) family.push(sampleLine(s));
    else lines.set(s.name, [sampleLine(s)]);
  }
  // One join per family: repeated += on 10,000 lines leaves a rope that every scrape would flatten again.
  return new Map([...lines].map(([name, l]) => [name, l.join('')]));
}

/**
 * Lines of samples that grow with time (Sample.agingSince), by family name, as of `nowMs` on the same monotonic
 * clock: rendered at each scrape, since their value changes between runs.
 */
export function renderAging(samples: readonly Sample[], nowMs: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of samples) {
    const since = s.agingSince ?? nowMs;
    const line = sampleLine({
      name: s.name,
      labels: s.labels,
      value: s.value + Math.max(0, nowMs - since) / 1000,
    });
    out.set(s.name, (out.get(s.name) ?? '') + line);
  }
  return out;
}
