import { catalogEntries, type Layer } from './catalog.js';

/** docs/metrics.md, generated from the catalog so the two cannot disagree (a test compares them). */

const LAYER_TITLES: Record<Layer, string> = {
  self: "The exporter's own health",
  data: 'Data layer',
  model: 'Model layer',
  system: 'System layer',
  business: 'Business layer',
};

export function renderMetricsDoc(): string {
  const out = [
    '# Metrics',
    '',
    '<!-- Generated from src/metrics/catalog.ts by `npm run docs`; do not edit by hand. -->',
    '',
    'Every metric mlwatch exports besides your own custom-query metrics and the standard `process_*` and',
    '`nodejs_*` metrics of prom-client. Units are base units (seconds, ratios 0..1); times are Unix timestamps,',
    'so ages are computed in PromQL, e.g. `time() - mlwatch_check_last_success_timestamp_seconds`.',
    '',
  ];
  for (const layer of Object.keys(LAYER_TITLES) as Layer[]) {
    const entries = catalogEntries.filter((e) => e.layer === layer);
    if (entries.length === 0) continue;
    out.push(
      `## ${LAYER_TITLES[layer]}`,
      '',
      '| Metric | Type | Labels | Meaning |',
      '| --- | --- | --- | --- |',
    );
    for (const e of entries) {
      const labels = e.labels.length ? e.labels.map((l) => `\`${l}\``).join(', ') : '';
      out.push(`| \`${e.name}\` | ${e.type} | ${labels} | ${e.help.replace(/\|/g, '\\|')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
