/**
 * Which sketches exist and what they are drawn from: docs/dashboard_sketch.png (every dashboard's layout on
 * one page) and docs/dashboard_sketch-<dashboard>.png (one sheet per dashboard, every query in full), all from
 * the committed JSON in grafana/dashboards/mlwatch, so the images show what Grafana provisions.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dashboardSvg, overviewSvg, type SketchDashboard } from './svg.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DASHBOARD_DIR = join(ROOT, 'grafana/dashboards/mlwatch');

export interface Sketch {
  /** Path from the repository root, e.g. docs/dashboard_sketch-system.png. */
  png: string;
  /** The SVG the PNG is rendered from (never written to disk). */
  svg: string;
  /** The dashboard JSON it shows, from the repository root (the overview: the directory). */
  source: string;
}

export function readDashboards(dir: string = DASHBOARD_DIR): { file: string; dashboard: SketchDashboard }[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  // The overview first, as Grafana's home: the others in file order.
  files.sort((a, b) => Number(b === 'overview.json') - Number(a === 'overview.json'));
  return files.map((file) => ({
    file,
    dashboard: JSON.parse(readFileSync(join(dir, file), 'utf8')) as SketchDashboard,
  }));
}

export function sheetName(file: string): string {
  return `dashboard_sketch-${file.replace(/\.json$/, '')}.png`;
}

/** Every sketch, overview first. */
export function buildSketches(dir: string = DASHBOARD_DIR): Sketch[] {
  const dashboards = readDashboards(dir);
  const sheets = dashboards.map(({ file, dashboard }) => ({
    png: `docs/${sheetName(file)}`,
    svg: dashboardSvg(file, dashboard),
    source: `grafana/dashboards/mlwatch/${file}`,
  }));
  const overview = {
    png: 'docs/dashboard_sketch.png',
    svg: overviewSvg(dashboards.map((d) => ({ ...d, sheet: sheetName(d.file) }))),
    source: 'grafana/dashboards/mlwatch',
  };
  return [overview, ...sheets];
}
