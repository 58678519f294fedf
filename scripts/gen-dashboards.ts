// Writes grafana/dashboards/mlwatch/*.json from grafana/src and docs/dashboard-sketch.svg from that JSON:
// `npm run dashboards`. Fails (exit 1) if an alert a panel draws its threshold from is missing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDashboards, DASHBOARDS_DIR, dashboardJson } from '../grafana/src/index.js';
import { renderSketch } from '../tools/dashboard-sketch.js';

const SKETCH = new URL('../docs/dashboard-sketch.svg', import.meta.url);

try {
  const dashboards = buildDashboards();
  mkdirSync(DASHBOARDS_DIR, { recursive: true });
  for (const { file, dashboard } of dashboards) {
    writeFileSync(join(DASHBOARDS_DIR, file), dashboardJson(dashboard));
    console.log(`wrote grafana/dashboards/mlwatch/${file}`);
  }
  // The sketch is drawn from the JSON as committed (a round trip), exactly as the stale test draws it.
  writeFileSync(SKETCH, renderSketch(dashboards.map((d) => JSON.parse(dashboardJson(d.dashboard)))));
  console.log('wrote docs/dashboard-sketch.svg');
} catch (err) {
  console.error(`gen-dashboards: ${(err as Error).message}`);
  process.exit(1);
}
