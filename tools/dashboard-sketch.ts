import type { DashboardJson, PanelJson } from './dashboard-lint.js';
import { panelsOf } from './dashboard-lint.js';

/**
 * A plain SVG picture of each dashboard's layout, drawn from the JSON (gridPos on Grafana's 24-column grid),
 * so a review shows where panels moved without starting Grafana. No dependencies: strings only.
 */

const COL = 40; // px per grid column: 24 columns = 960 px
const ROW = 22; // px per grid row (Grafana's is 30 px; squashed so the sketch stays short)
const PAD = 16;
const TITLE = 34; // room for a dashboard's title above its grid
const GAP = 28; // between dashboards
const WIDTH = 24 * COL + 2 * PAD;

const COLORS: Record<string, string> = {
  stat: '#e8f3e8',
  timeseries: '#e6eef9',
  table: '#fbf1df',
  'state-timeline': '#f1e8f7',
};

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Cuts a label to what fits in `px` at roughly 6.5 px per character of 12 px text. */
function clip(s: string, px: number, charPx = 6.5): string {
  const max = Math.max(1, Math.floor(px / charPx));
  return s.length <= max ? s : `${s.slice(0, Math.max(1, max - 1))}…`;
}

function panelBox(p: PanelJson, top: number): string {
  const g = (p as { gridPos?: { x: number; y: number; w: number; h: number } }).gridPos ?? {
    x: 0,
    y: 0,
    w: 24,
    h: 1,
  };
  const x = PAD + g.x * COL;
  const y = top + g.y * ROW;
  const w = g.w * COL;
  const h = g.h * ROW;
  if (p.type === 'row') {
    return (
      `<rect x="${x}" y="${y + 2}" width="${w}" height="${h - 4}" fill="#3d4a5c"/>` +
      `<text x="${x + 8}" y="${y + h / 2 + 4}" class="row">${esc(clip(p.title ?? '', w - 16, 7))}</text>`
    );
  }
  const unit = p.fieldConfig?.defaults?.unit ?? '';
  // As many of the panel's queries as fit under its title, one line each.
  const room = Math.max(0, Math.floor((h - 44) / 13));
  const queries = (p.targets ?? [])
    .slice(0, room)
    .map(
      (t, i) =>
        `<text x="${x + 8}" y="${y + 48 + i * 13}" class="expr">${esc(clip(t.expr ?? '', w - 16, 6))}</text>`,
    );
  return (
    `<rect x="${x + 2}" y="${y + 2}" width="${w - 4}" height="${h - 4}" rx="3" fill="${COLORS[p.type] ?? '#eeeeee'}" stroke="#8894a6"/>` +
    `<text x="${x + 8}" y="${y + 18}" class="panel">${esc(clip(p.title ?? '', w - 16))}</text>` +
    `<text x="${x + 8}" y="${y + 32}" class="kind">${esc(clip(`${p.type} · ${unit}`, w - 16, 5.5))}</text>` +
    queries.join('')
  );
}

function gridHeight(d: DashboardJson): number {
  let bottom = 0;
  for (const p of panelsOf(d)) {
    const g = (p as { gridPos?: { y: number; h: number } }).gridPos;
    if (g) bottom = Math.max(bottom, g.y + g.h);
  }
  return bottom * ROW;
}

export function renderSketch(dashboards: DashboardJson[]): string {
  const parts: string[] = [];
  let top = PAD;
  for (const d of dashboards) {
    parts.push(
      `<text x="${PAD}" y="${top + 20}" class="dash">${esc(`${d.title ?? ''}  (uid ${d.uid ?? '?'})`)}</text>`,
    );
    const gridTop = top + TITLE;
    const h = gridHeight(d);
    parts.push(
      `<rect x="${PAD}" y="${gridTop}" width="${24 * COL}" height="${h}" fill="#fafbfc" stroke="#d5dae1"/>`,
    );
    for (const p of panelsOf(d)) parts.push(panelBox(p, gridTop));
    top = gridTop + h + GAP;
  }
  const height = top - GAP + PAD;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">`,
    '<!-- Generated from grafana/dashboards by scripts/gen-bundle.ts (npm run bundle); do not edit by hand. -->',
    '<style>text{font-family:Helvetica,Arial,sans-serif}.dash{font-size:18px;font-weight:bold;fill:#1f2933}' +
      '.row{font-size:12px;font-weight:bold;fill:#ffffff}.panel{font-size:12px;fill:#1f2933}' +
      '.kind{font-size:10px;fill:#5f6b7a}.expr{font-size:10px;font-family:monospace;fill:#38424f}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
