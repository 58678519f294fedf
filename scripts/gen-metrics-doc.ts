// Writes docs/metrics.md from the metric catalog: `npm run docs`.
import { writeFileSync } from 'node:fs';
import { renderMetricsDoc } from '../src/metrics/doc.js';

writeFileSync(new URL('../docs/metrics.md', import.meta.url), renderMetricsDoc());
console.log('wrote docs/metrics.md');
